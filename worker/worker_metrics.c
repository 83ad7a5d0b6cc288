/* worker/worker_metrics.c: a worker's metrics, kept in a common/metrics
 * set. Task names come from the worker's own registry, so the task label
 * is bounded by what the worker loaded. Owned by the worker thread. */
#include "worker_metrics.h"

#include "metrics.h"
#include "proto/sluice.pb-c.h"

#include <stdlib.h>
#include <string.h>

struct sl_wmetrics {
    sl_metrics_t *set;
    sl_metric_t *tasks, *duration, *requests, *trip, *cache_up, *reconnects;
    sl_metric_t *rejected;
    sl_metric_t *slots, *busy, *held, *connected, *draining;
};

#define COUNTER   SL_METRIC_COUNTER
#define GAUGE     SL_METRIC_GAUGE
#define HISTOGRAM SL_METRIC_HISTOGRAM

static bool
add_all(sl_wmetrics_t *m)
{
    sl_metrics_t *s = m->set;
    m->tasks = sl_metrics_add(s, COUNTER, "sluice_worker_tasks_total",
                              "Tasks answered, by outcome (ok, cached, error, "
                              "timeout, crash).",
                              "task,outcome");
    m->duration =
        sl_metrics_add(s, HISTOGRAM, "sluice_worker_task_duration_seconds",
                       "Compute time of tasks run here (not cache hits).",
                       NULL);
    m->requests = sl_metrics_add(s, COUNTER, "sluice_cache_requests_total",
                                 "Keys sent to the cache, by op and result "
                                 "(get: hit, miss; lock: taken, busy; set: ok, "
                                 "released (a lock only); any: error).",
                                 "op,result");
    m->trip =
        sl_metrics_add(s, HISTOGRAM, "sluice_cache_request_duration_seconds",
                       "Cache round trips (one per batch of keys), by op.",
                       "op");
    m->cache_up = sl_metrics_add(s, GAUGE, "sluice_cache_up",
                                 "1 if the last cache round trip worked, 0 if "
                                 "it failed.",
                                 NULL);
    m->rejected =
        sl_metrics_add(s, COUNTER, "sluice_cache_entries_rejected_total",
                       "Stored entries refused and treated as misses, by why: "
                       "over the read cap, corrupt, made for another key, or "
                       "(--trust) not trusted.",
                       "reason");
    m->reconnects = sl_metrics_add(s, COUNTER, "sluice_worker_reconnects_total",
                                   "New connections to the broker (refused "
                                   "key, or a silent broker).",
                                   NULL);
    m->slots = sl_metrics_add(s, GAUGE, "sluice_worker_slots",
                              "Executor threads.", NULL);
    m->busy = sl_metrics_add(s, GAUGE, "sluice_worker_slots_busy",
                             "Executors running a batch.", NULL);
    m->held = sl_metrics_add(s, GAUGE, "sluice_worker_tasks_in_flight",
                             "Tasks in hand: waiting here or running.", NULL);
    m->connected =
        sl_metrics_add(s, GAUGE, "sluice_worker_connected",
                       "1 if the broker spoke within its liveness.", NULL);
    m->draining = sl_metrics_add(s, GAUGE, "sluice_worker_draining",
                                 "1 while stopping: no new tasks.", NULL);
    return m->tasks && m->duration && m->requests && m->trip && m->cache_up &&
           m->rejected && m->reconnects && m->slots && m->busy && m->held &&
           m->connected && m->draining;
}

sl_wmetrics_t *
sl_wmetrics_new(void)
{
    sl_wmetrics_t *m = calloc(1, sizeof *m);
    if (m && (!(m->set = sl_metrics_new()) || !add_all(m)))
        sl_wmetrics_destroy(&m);
    if (m)
        sl_series_set(sl_metric_at(m->cache_up), 1); /* none failed yet */
    return m;
}

void
sl_wmetrics_destroy(sl_wmetrics_t **p)
{
    if (!p || !*p)
        return;
    sl_metrics_destroy(&(*p)->set);
    free(*p);
    *p = NULL;
}

static const char *
outcome_of(const sl_exec_result_stat_t *st)
{
    if (st->status == SLUICE__RESULT__STATUS__OK)
        return st->cache == SLUICE__RESULT__CACHE__HIT ? "cached" : "ok";
    switch (st->failure) {
    case SLUICE__RESULT__FAILURE__TIMEOUT: return "timeout";
    case SLUICE__RESULT__FAILURE__CRASH: return "crash";
    default: return "error";
    }
}

static void
take_result(sl_wmetrics_t *m, const sl_exec_result_stat_t *st)
{
    static const char *reasons[] = {[SL_REJECT_UNSIGNED] = "unsigned",
                                    [SL_REJECT_UNTRUSTED] = "untrusted",
                                    [SL_REJECT_BAD] = "bad_signature",
                                    [SL_REJECT_EXPIRED] = "expired",
                                    [SL_REJECT_VERSION] = "version",
                                    [SL_REJECT_CORRUPT] = "corrupt",
                                    [SL_REJECT_OTHER_KEY] = "other_key",
                                    [SL_REJECT_TOO_LARGE] = "too_large",
                                    [SL_REJECT_OUTPUTS] = "outputs_gone"};
    const char *task = st->def ? st->def->name : "unknown";
    if (st->rejected && st->rejected <= SL_REJECT_OUTPUTS)
        sl_series_add(sl_metric_at(m->rejected, reasons[st->rejected]), 1);
    sl_series_add(sl_metric_at(m->tasks, task, outcome_of(st)), 1);
    if (st->duration_us)
        sl_series_observe(sl_metric_at(m->duration),
                          (double)st->duration_us / 1e6);
}

static void
take_trip(sl_wmetrics_t *m, const sl_exec_cache_stat_t *t)
{
    static const char *ops[] = {"get", "lock", "set"};
    static const char *ok[] = {"hit", "taken", "ok"};
    static const char *other[] = {"miss", "busy", "released"};
    if (t->op > SL_CACHE_OP_SET)
        return;
    const char *op = ops[t->op];
    if (t->keys_ok)
        sl_series_add(sl_metric_at(m->requests, op, ok[t->op]), t->keys_ok);
    if (t->keys_other)
        sl_series_add(sl_metric_at(m->requests, op, other[t->op]),
                      t->keys_other);
    if (t->keys_failed)
        sl_series_add(sl_metric_at(m->requests, op, "error"), t->keys_failed);
    sl_series_observe(sl_metric_at(m->trip, op), (double)t->duration_us / 1e6);
    sl_series_set(sl_metric_at(m->cache_up), t->keys_failed ? 0 : 1);
}

void
sl_wmetrics_take(sl_wmetrics_t *m, zframe_t *results, zframe_t *trips)
{
    size_t rs = sizeof(sl_exec_result_stat_t),
           ts = sizeof(sl_exec_cache_stat_t);
    if (results && zframe_size(results) % rs == 0)
        for (size_t i = 0; i < zframe_size(results) / rs; i++) {
            sl_exec_result_stat_t st;
            memcpy(&st, zframe_data(results) + i * rs, rs);
            take_result(m, &st);
        }
    if (trips && zframe_size(trips) % ts == 0)
        for (size_t i = 0; i < zframe_size(trips) / ts; i++) {
            sl_exec_cache_stat_t t;
            memcpy(&t, zframe_data(trips) + i * ts, ts);
            take_trip(m, &t);
        }
}

void
sl_wmetrics_reconnected(sl_wmetrics_t *m)
{
    sl_series_add(sl_metric_at(m->reconnects), 1);
}

int
sl_wmetrics_render(sl_wmetrics_t *m, const sl_wmetrics_gauges_t *g,
                   sl_buf_t *out)
{
    sl_series_set(sl_metric_at(m->slots), (double)g->slots);
    sl_series_set(sl_metric_at(m->busy), (double)g->busy);
    sl_series_set(sl_metric_at(m->held), (double)g->held);
    sl_series_set(sl_metric_at(m->connected), g->is_connected);
    sl_series_set(sl_metric_at(m->draining), g->is_draining);
    int rc = sl_metrics_render(m->set, out);
    return rc < 0 ? rc : sl_metrics_render_process(out, "worker");
}
