/* worker/isolate.h: running one task in a forked child (`--isolate`), with
 * memory and CPU limits and a timeout, so that a crash, a hang or runaway
 * memory kills the child and not the worker. */
#ifndef SL_ISOLATE_H
#define SL_ISOLATE_H

#include "registry.h"

#include <stdint.h>

typedef struct sl_isolate_limits {
    uint64_t memory_bytes; /* RLIMIT_AS of the child; 0: none */
    uint32_t cpu_seconds;  /* RLIMIT_CPU of the child; 0: none */
} sl_isolate_limits_t;

typedef enum {
    SL_ISOLATE_OK,       /* *result is set */
    SL_ISOLATE_ERROR,    /* the task failed: message says why */
    SL_ISOLATE_TIMEOUT,  /* it ran past timeout_ms and was killed */
    SL_ISOLATE_CRASH,    /* the child died: a signal, or a limit */
    SL_ISOLATE_CANCELLED /* its run was cancelled (sl_task_is_cancelled):
                            killed */
} sl_isolate_outcome_t;

/* Runs def on args in a child process, in a process group of its own, and
 * waits up to timeout_ms (0: no limit) or until the task is cancelled;
 * then the whole group is killed, grandchildren too. Returns the outcome; on
 * SL_ISOLATE_OK *result is the task's value (the caller owns it), otherwise
 * message (size bytes) says what happened. Called on an executor thread; the
 * child only runs the task, sends its result through a pipe and _exits. */
sl_isolate_outcome_t sl_isolate_run(const sl_task_def_t *def,
                                    sl_task_ctx_t *ctx, const sl_value_t *args,
                                    const sl_isolate_limits_t *limits,
                                    uint64_t timeout_ms, sl_value_t **result,
                                    char *message, size_t size);

#endif
