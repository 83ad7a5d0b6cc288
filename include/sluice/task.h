/* include/sluice/task.h: writing tasks. A task is a C function registered
 * under a name and a version; a plugin is a shared object that exports
 * sluice_plugin(), which lists its tasks:
 *
 *     static int add(sl_task_ctx_t *ctx, const sl_value_t *args,
 *                    sl_value_t **result) { ... }
 *     static const sl_task_def_t tasks[] = {
 *         {"add_numbers", 1, add, "adds two integers"},
 *     };
 *     SL_PLUGIN(tasks)
 *
 * and the worker loads it with `sluice-worker --tasks ./libmytasks.so`.
 *
 * A task runs on one of the worker's executor threads, several at once, so
 * it must be thread-safe. It reads args (a list, borrowed) and either sets
 * *result to a new value and returns 0, or returns sl_task_fail(ctx, ...).
 * It must be pure for caching to be right: the same args, the same result.
 * Change the version when the code changes what it returns: old cache
 * entries are then never served. */
#ifndef SL_TASK_PUBLIC_H
#define SL_TASK_PUBLIC_H

#include <sluice/value.h>

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SL_TASK_ABI 1

typedef struct sl_task_ctx sl_task_ctx_t;

typedef int (*sl_task_fn)(sl_task_ctx_t *ctx, const sl_value_t *args,
                          sl_value_t **result);

typedef struct sl_task_def {
    const char *name; /* letters, digits, _ - and . */
    uint32_t version; /* >= 1; part of every cache key */
    sl_task_fn fn;    /* the code */
    const char *doc;  /* one line, shown by `sluice status` */
} sl_task_def_t;

typedef struct sl_plugin {
    uint32_t abi;               /* SL_TASK_ABI */
    const sl_task_def_t *tasks; /* count definitions */
    size_t count;
} sl_plugin_t;

/* Records why the task failed and returns -1; the message goes back to the
 * client and nothing is cached. */
int sl_task_fail(sl_task_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The id of the worker running the task (borrowed). */
const char *sl_task_worker_id(const sl_task_ctx_t *ctx);

/* Whether the task's run was cancelled while it runs: a long task should
 * ask now and then and, if so, return sl_task_fail(ctx, "cancelled") at
 * once; its result is not wanted. (With --isolate the worker kills the
 * task's process group instead.) Cheap: one atomic load. */
bool sl_task_is_cancelled(const sl_task_ctx_t *ctx);

#define SL_PLUGIN(defs)                                                        \
    const sl_plugin_t *sluice_plugin(void);                                    \
    const sl_plugin_t *sluice_plugin(void)                                     \
    {                                                                          \
        static const sl_plugin_t plugin = {SL_TASK_ABI, defs,                  \
                                           sizeof(defs) / sizeof((defs)[0])};  \
        return &plugin;                                                        \
    }

#ifdef __cplusplus
}
#endif

#endif
