/* worker/task_ctx.c: the calls a task makes back into its worker. Called on
 * the executor thread running the task. */
#include "task_ctx.h"

#include <stdarg.h>
#include <stdio.h>

int
sl_task_fail(sl_task_ctx_t *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->error, sizeof ctx->error, fmt, ap);
    va_end(ap);
    ctx->has_failed = true;
    return -1;
}

const char *
sl_task_worker_id(const sl_task_ctx_t *ctx)
{
    return ctx->worker_id;
}

bool
sl_task_is_cancelled(const sl_task_ctx_t *ctx)
{
    return ctx->board && ctx->task_id &&
           atomic_load(&ctx->board->cancel_id) == ctx->task_id;
}

void
sl_task_progress(sl_task_ctx_t *ctx, const sl_value_t *value)
{
    if (ctx->progress && ctx->task_id)
        ctx->progress(ctx, value);
}
