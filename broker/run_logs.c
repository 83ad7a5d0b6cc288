/* broker/run_logs.c: what failed attempts of a run's program tasks wrote
 * (the end of their standard output and error, as their worker sent it),
 * kept with the run for `sluice logs`. Owned by the broker loop thread,
 * like the run. Bounded: SL_RUN_LOGS_MAX_BYTES per run. */
#include "run_internal.h"

#include "caps.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t
size_of(const sl_run_logs_t *l)
{
    return l->out.size + l->err.size;
}

static void
free_logs(void **item)
{
    sl_run_logs_t *l = *item;
    if (l) {
        free(l->error);
        free(l->worker_id);
        sl_buf_fini(&l->out);
        sl_buf_fini(&l->err);
        free(l);
    }
    *item = NULL;
}

void
sl_run_keep_logs(sl_run_t *run, const sl_job_t *job, uint32_t attempt,
                 const char *error, const char *worker_id, const void *out,
                 size_t out_size, const void *err, size_t err_size)
{
    char key[32];
    if (!out_size && !err_size)
        return;
    out_size = out_size > SL_LOG_TAIL_BYTES ? SL_LOG_TAIL_BYTES : out_size;
    err_size = err_size > SL_LOG_TAIL_BYTES ? SL_LOG_TAIL_BYTES : err_size;
    if (!run->logs && (run->logs = zhashx_new()))
        zhashx_set_destructor(run->logs, free_logs);
    snprintf(key, sizeof key, "%u:%u", job->node, job->index);
    const sl_run_logs_t *old = run->logs ? zhashx_lookup(run->logs, key) : NULL;
    size_t freed = old ? size_of(old) : 0;
    if (run->log_bytes - freed + out_size + err_size > SL_RUN_LOGS_MAX_BYTES) {
        sl_log(SL_LOG_INFO, "broker",
               "run=%s the output of a failed attempt is not kept: the run "
               "holds %zu bytes of them already",
               run->id, run->log_bytes);
        return;
    }
    sl_run_logs_t *l = calloc(1, sizeof *l);
    if (!run->logs || !l || !(l->error = strdup(error ? error : "")) ||
        !(l->worker_id = strdup(worker_id ? worker_id : "")) ||
        sl_buf_append(&l->out, out, out_size) < 0 ||
        sl_buf_append(&l->err, err, err_size) < 0) {
        free_logs((void **)&l);
        return; /* out of memory: not kept, nothing else lost */
    }
    l->attempt = attempt;
    run->log_bytes += size_of(l) - freed;
    zhashx_update(run->logs, key, l); /* frees the old one */
}

const sl_run_logs_t *
sl_run_logs(const sl_run_t *run, uint32_t node, uint32_t index)
{
    char key[32];
    snprintf(key, sizeof key, "%u:%u", node, index);
    return run->logs ? zhashx_lookup(run->logs, key) : NULL;
}
