/* broker/broker_metrics.c: the broker's metrics, kept in a common/metrics
 * set: counters as events happen, gauges filled at each scrape. Owned by
 * the broker loop thread. Names follow Prometheus conventions (base units,
 * _total counters); task names are the only open label, capped by the
 * set. */
#include "broker_metrics.h"

#include "metrics.h"

#include <czmq.h>
#include <stdlib.h>

struct sl_bmetrics {
    sl_metrics_t *set;
    sl_metric_t *submitted, *rejected, *finished;
    sl_metric_t *dispatched, *completed, *failed, *retried, *shared;
    sl_metric_t *cache, *workers_lost, *bad;
    sl_metric_t *refused, *refused_messages, *revoked;
    sl_metric_t *queued, *delayed, *in_flight, *outstanding, *queues;
    sl_metric_t *workers, *draining, *slots, *runs;
    sl_metric_t *duration, *latency, *run_duration;
    sl_metric_t *load; /* sluice load's requests, by what became of them */
    sl_bmetrics_totals_t totals;
};

#define COUNTER   SL_METRIC_COUNTER
#define GAUGE     SL_METRIC_GAUGE
#define HISTOGRAM SL_METRIC_HISTOGRAM

static bool
add_all(sl_bmetrics_t *m)
{
    sl_metrics_t *s = m->set;
    m->submitted = sl_metrics_add(s, COUNTER, "sluice_runs_submitted_total",
                                  "Runs accepted.", NULL);
    m->rejected = sl_metrics_add(s, COUNTER, "sluice_runs_rejected_total",
                                 "Submits refused (bad flow, stopping broker, "
                                 "journal failure).",
                                 NULL);
    m->finished = sl_metrics_add(s, COUNTER, "sluice_runs_finished_total",
                                 "Runs finished, by final state.", "state");
    m->dispatched =
        sl_metrics_add(s, COUNTER, "sluice_tasks_dispatched_total",
                       "Tasks sent to workers (each attempt).", "task");
    m->completed = sl_metrics_add(s, COUNTER, "sluice_tasks_completed_total",
                                  "Tasks a worker answered with a value (cache "
                                  "hits included).",
                                  "task");
    m->failed = sl_metrics_add(s, COUNTER, "sluice_tasks_failed_total",
                               "Tasks failed for good (retries spent, or "
                               "poison).",
                               "task");
    m->retried = sl_metrics_add(s, COUNTER, "sluice_tasks_retried_total",
                                "Tasks queued again, by why.", "task,reason");
    m->shared = sl_metrics_add(s, COUNTER, "sluice_tasks_shared_total",
                               "Tasks answered by an identical task in flight "
                               "(not dispatched).",
                               "task");
    m->cache = sl_metrics_add(s, COUNTER, "sluice_cache_results_total",
                              "Results by what the worker's cache did for "
                              "them.",
                              "result");
    m->workers_lost =
        sl_metrics_add(s, COUNTER, "sluice_workers_lost_total",
                       "Workers that died or missed their heartbeats.", NULL);
    m->bad = sl_metrics_add(s, COUNTER, "sluice_bad_messages_total",
                            "Messages from peers that were malformed, over the "
                            "cap, of the wrong type or version, or refused "
                            "(logged at most a few per heartbeat).",
                            NULL);
    m->queued = sl_metrics_add(s, GAUGE, "sluice_tasks_queued",
                               "Tasks ready and waiting for a worker.", NULL);
    m->queues = sl_metrics_add(s, GAUGE, "sluice_task_queues",
                               "Ready queues the broker holds: one per task "
                               "name with tasks waiting or coming back.",
                               NULL);
    m->delayed = sl_metrics_add(s, GAUGE, "sluice_tasks_delayed",
                                "Tasks waiting out a retry delay.", NULL);
    m->in_flight = sl_metrics_add(s, GAUGE, "sluice_tasks_in_flight",
                                  "Tasks held by workers.", NULL);
    m->outstanding = sl_metrics_add(s, GAUGE, "sluice_tasks_outstanding",
                                    "Queued, delayed and in-flight tasks: the "
                                    "autoscaling signal.",
                                    NULL);
    m->workers = sl_metrics_add(s, GAUGE, "sluice_workers_connected",
                                "Workers connected.", NULL);
    m->draining = sl_metrics_add(s, GAUGE, "sluice_workers_draining",
                                 "Connected workers that are draining.", NULL);
    m->slots = sl_metrics_add(s, GAUGE, "sluice_cluster_slots",
                              "Task slots over every connected worker.", NULL);
    m->runs = sl_metrics_add(s, GAUGE, "sluice_runs",
                             "Runs the broker holds, by state.", "state");
    m->duration = sl_metrics_add(s, HISTOGRAM, "sluice_task_duration_seconds",
                                 "Compute time of tasks that ran (not cache "
                                 "hits), as workers report it.",
                                 NULL);
    m->latency = sl_metrics_add(s, HISTOGRAM, "sluice_task_latency_seconds",
                                "From dispatch to the result at the broker "
                                "(wire, cache, compute).",
                                NULL);
    m->run_duration =
        sl_metrics_add(s, HISTOGRAM, "sluice_run_duration_seconds",
                       "From submit to the run's end.", NULL);
    m->load = sl_metrics_add(s, COUNTER, "sluice_load_requests_total",
                             "Requests of `sluice load` tests, as their "
                             "shares report them about once a second: sent, "
                             "answered, failed (no response or a status of "
                             "400 or more).",
                             "outcome");
    return m->load && m->submitted && m->rejected && m->finished &&
           m->dispatched && m->completed && m->failed && m->retried &&
           m->shared && m->cache && m->workers_lost && m->bad && m->queued &&
           m->queues && m->delayed && m->in_flight && m->outstanding &&
           m->workers && m->draining && m->slots && m->runs && m->duration &&
           m->latency && m->run_duration;
}

/* The CURVE families, added at the first scrape that has CURVE on, so a
 * broker in the clear does not show them. */
static void
add_curve(sl_bmetrics_t *m)
{
    m->refused =
        sl_metrics_add(m->set, COUNTER, "sluice_curve_refused_handshakes_total",
                       "CURVE handshakes refused: key not in the allow-list.",
                       "peer");
    m->refused_messages =
        sl_metrics_add(m->set, COUNTER, "sluice_curve_refused_messages_total",
                       "Messages refused from revoked keys or impostors.",
                       NULL);
    m->revoked =
        sl_metrics_add(m->set, COUNTER, "sluice_curve_revoked_keys_total",
                       "Keys removed from an allow-list while the broker ran.",
                       NULL);
}

sl_bmetrics_t *
sl_bmetrics_new(void)
{
    sl_bmetrics_t *m = calloc(1, sizeof *m);
    if (m && (!(m->set = sl_metrics_new()) || !add_all(m)))
        sl_bmetrics_destroy(&m);
    return m;
}

void
sl_bmetrics_destroy(sl_bmetrics_t **p)
{
    if (!p || !*p)
        return;
    sl_metrics_destroy(&(*p)->set);
    free(*p);
    *p = NULL;
}

void
sl_bmetrics_dispatched(sl_bmetrics_t *m, const char *task, size_t count)
{
    sl_series_add(sl_metric_at(m->dispatched, task), (double)count);
    m->totals.dispatched += count;
}

static const char *
cache_result(sl_cache_outcome_t c)
{
    switch (c) {
    case SL_CACHE_OUTCOME_MISS: return "miss";
    case SL_CACHE_OUTCOME_HIT: return "hit";
    case SL_CACHE_OUTCOME_ERROR: return "error";
    case SL_CACHE_OUTCOME_SKIPPED: return "skipped";
    case SL_CACHE_OUTCOME_REFRESHED: return "refreshed";
    case SL_CACHE_OUTCOME_TOO_LARGE: return "too_large";
    default: return "other";
    }
}

/* job's state just after a failed attempt says what became of it. */
static void
count_failure(sl_bmetrics_t *m, const char *task, const sl_job_t *job,
              const char *reason)
{
    if (job->state == SL_JOB_FAILED) {
        sl_series_add(sl_metric_at(m->failed, task), 1);
        m->totals.failed++;
    } else if (job->state == SL_JOB_QUEUED || job->state == SL_JOB_DELAYED) {
        sl_series_add(sl_metric_at(m->retried, task, reason), 1);
        m->totals.retried++;
    }
}

void
sl_bmetrics_result(sl_bmetrics_t *m, const char *task, const sl_job_t *job,
                   const sl_outcome_t *o)
{
    sl_series_observe(sl_metric_at(m->latency),
                      (double)(zclock_usecs() - job->dispatched_us) / 1e6);
    sl_series_add(sl_metric_at(m->cache, cache_result(o->cache)), 1);
    if (o->cache != SL_CACHE_OUTCOME_HIT)
        sl_series_observe(sl_metric_at(m->duration),
                          (double)o->duration_us / 1e6);
    if (job->state == SL_JOB_DONE) {
        sl_series_add(sl_metric_at(m->completed, task), 1);
        m->totals.completed++;
        m->totals.cached += o->cache == SL_CACHE_OUTCOME_HIT;
        return;
    }
    count_failure(m, task, job,
                  o->failure == SL_FAIL_TIMEOUT ? "timeout" : "error");
}

void
sl_bmetrics_lost(sl_bmetrics_t *m, const char *task, const sl_job_t *job)
{
    count_failure(m, task, job, "worker_lost");
}

void
sl_bmetrics_shared(sl_bmetrics_t *m, const char *task)
{
    sl_series_add(sl_metric_at(m->shared, task), 1);
    m->totals.shared++;
}

void
sl_bmetrics_load(sl_bmetrics_t *m, uint64_t sent, uint64_t answered,
                 uint64_t failed)
{
    sl_series_add(sl_metric_at(m->load, "sent"), (double)sent);
    sl_series_add(sl_metric_at(m->load, "answered"), (double)answered);
    sl_series_add(sl_metric_at(m->load, "failed"), (double)failed);
}

void
sl_bmetrics_worker_lost(sl_bmetrics_t *m)
{
    sl_series_add(sl_metric_at(m->workers_lost), 1);
    m->totals.workers_lost++;
}

void
sl_bmetrics_submitted(sl_bmetrics_t *m, bool is_accepted)
{
    sl_series_add(sl_metric_at(is_accepted ? m->submitted : m->rejected), 1);
}

void
sl_bmetrics_run_finished(sl_bmetrics_t *m, const char *state,
                         int64_t started_us)
{
    sl_series_add(sl_metric_at(m->finished, state), 1);
    sl_series_observe(sl_metric_at(m->run_duration),
                      (double)(zclock_usecs() - started_us) / 1e6);
}

void
sl_bmetrics_totals(const sl_bmetrics_t *m, sl_bmetrics_totals_t *out)
{
    *out = m->totals;
}

static void
set_gauges(sl_bmetrics_t *m, const sl_bmetrics_gauges_t *g)
{
    sl_series_set(sl_metric_at(m->queued), (double)g->queued);
    sl_series_set(sl_metric_at(m->delayed), (double)g->delayed);
    sl_series_set(sl_metric_at(m->queues), (double)g->queues);
    sl_series_set(sl_metric_at(m->in_flight), (double)g->in_flight);
    sl_series_set(sl_metric_at(m->outstanding),
                  (double)(g->queued + g->delayed + g->in_flight));
    sl_series_set(sl_metric_at(m->workers), (double)g->workers);
    sl_series_set(sl_metric_at(m->draining), (double)g->draining);
    sl_series_set(sl_metric_at(m->slots), (double)g->slots);
    sl_series_set(sl_metric_at(m->bad), (double)g->bad_messages);
    sl_series_set(sl_metric_at(m->runs, "running"), (double)g->runs_running);
    sl_series_set(sl_metric_at(m->runs, "done"), (double)g->runs_done);
    sl_series_set(sl_metric_at(m->runs, "failed"), (double)g->runs_failed);
    sl_series_set(sl_metric_at(m->runs, "cancelled"),
                  (double)g->runs_cancelled);
    if (!g->is_curve)
        return;
    if (!m->refused)
        add_curve(m);
    /* mirrors of the auth module's own counters */
    sl_series_set(sl_metric_at(m->refused, "client"),
                  (double)g->auth.refused_clients);
    sl_series_set(sl_metric_at(m->refused, "worker"),
                  (double)g->auth.refused_workers);
    sl_series_set(sl_metric_at(m->refused_messages),
                  (double)g->auth.refused_messages);
    sl_series_set(sl_metric_at(m->revoked), (double)g->auth.revoked);
}

int
sl_bmetrics_render(sl_bmetrics_t *m, const sl_bmetrics_gauges_t *g,
                   sl_buf_t *out)
{
    set_gauges(m, g);
    int rc = sl_metrics_render(m->set, out);
    return rc < 0 ? rc : sl_metrics_render_process(out, "broker");
}
