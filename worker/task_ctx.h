/* worker/task_ctx.h: what a running task can see of its worker. One per
 * executor thread, reset before each task. The cancel board is the one
 * thing an executor shares with the worker thread: two atomics. */
#ifndef SL_TASK_CTX_H
#define SL_TASK_CTX_H

#include <sluice/task.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Written by the worker thread, read by one executor: which task that
 * executor is computing, and which one the worker asks it to stop. */
typedef struct sl_cancel_board {
    atomic_uint_fast64_t running;   /* task id computing now; 0: none */
    atomic_uint_fast64_t cancel_id; /* stop this task if it runs */
} sl_cancel_board_t;

struct sl_http_rules;

struct sl_task_ctx {
    const char *worker_id;                  /* borrowed from the worker */
    const struct sl_http_rules *http_rules; /* --http-allow; NULL: none */
    uint64_t task_id;                       /* of the task running now */
    uint32_t attempt;                       /* and its attempt */
    /* Sends a Progress of the running task to the broker (executor.c);
     * NULL: none can be sent. */
    void (*progress)(struct sl_task_ctx *ctx, const sl_value_t *value);
    void *owner;              /* the executor, for progress */
    sl_cancel_board_t *board; /* the executor's; NULL: never cancelled */
    bool has_failed;          /* sl_task_fail was called */
    char error[512];          /* its message */
};

/* Reports the running task's figures so far (docs/PROTOCOL.md,
 * "Progress"): streamed to the run's followers. Not part of the public
 * task API yet; load@1 uses it. No-op where none can be sent (a child of
 * --isolate). */
void sl_task_progress(sl_task_ctx_t *ctx, const sl_value_t *value);

#endif
