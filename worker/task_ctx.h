/* worker/task_ctx.h: what a running task can see of its worker. One per
 * executor thread, reset before each task. */
#ifndef SL_TASK_CTX_H
#define SL_TASK_CTX_H

#include <sluice/task.h>

#include <stdbool.h>

struct sl_task_ctx {
    const char *worker_id;  /* borrowed from the worker */
    bool has_failed;        /* sl_task_fail was called */
    char error[512];        /* its message */
};

#endif
