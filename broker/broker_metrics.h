/* broker/broker_metrics.h: what the broker counts for /metrics and
 * `sluice status`: tasks by outcome and task name, runs, workers lost,
 * latency histograms; and, at each scrape, the gauges the loop reads off
 * its state (queue depth, tasks in flight: the autoscaling signal). Owned
 * by the broker loop thread. Never looks at a run or job on its own: the
 * loop tells it what happened. */
#ifndef SL_BROKER_METRICS_H
#define SL_BROKER_METRICS_H

#include "auth.h"
#include "buf.h"
#include "job.h"

#include "outcome.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct sl_bmetrics sl_bmetrics_t;

/* The state the gauges show, read by the loop at each scrape. */
typedef struct sl_bmetrics_gauges {
    size_t queued;       /* jobs waiting for a worker */
    size_t delayed;      /* jobs waiting out a retry delay */
    size_t in_flight;    /* jobs held by workers */
    size_t queues;       /* ready queues held (task names with work) */
    size_t workers;      /* connected */
    size_t draining;     /* of which draining */
    size_t slots;        /* summed over the workers */
    size_t runs_running; /* runs held by the broker, by state */
    size_t runs_done;
    size_t runs_failed;
    size_t runs_cancelled;
    uint64_t bad_messages; /* malformed or refused messages from peers */
    bool is_curve;         /* CURVE on: auth is shown */
    sl_auth_counts_t auth;
} sl_bmetrics_gauges_t;

/* Totals over every task name, for `sluice status`. */
typedef struct sl_bmetrics_totals {
    uint64_t dispatched;
    uint64_t completed; /* succeeded on a worker (hits included) */
    uint64_t cached;    /* of which cache hits */
    uint64_t shared;    /* answered by an identical job in flight */
    uint64_t failed;    /* failed for good */
    uint64_t retried;   /* queued again after an error, timeout or loss */
    uint64_t workers_lost;
} sl_bmetrics_totals_t;

/* NULL when memory runs out. */
sl_bmetrics_t *sl_bmetrics_new(void);
void sl_bmetrics_destroy(sl_bmetrics_t **p);

/* count jobs of task went to a worker. */
void sl_bmetrics_dispatched(sl_bmetrics_t *m, const char *task, size_t count);

/* A worker's outcome o for job, after the run took it: job->state says
 * what became of it (done, queued again, failed). */
void sl_bmetrics_result(sl_bmetrics_t *m, const char *task, const sl_job_t *job,
                        const sl_outcome_t *o);

/* job was taken back from a worker that died, left or lost it: queued
 * again, or failed (poison). */
void sl_bmetrics_lost(sl_bmetrics_t *m, const char *task, const sl_job_t *job);

/* A job was answered by the identical job it followed. */
void sl_bmetrics_shared(sl_bmetrics_t *m, const char *task);

/* A load test's shares sent, had answered and saw fail this many more
 * requests (docs/LOAD.md). */
void sl_bmetrics_load(sl_bmetrics_t *m, uint64_t sent, uint64_t answered,
                      uint64_t failed);

/* A worker died or missed its heartbeats. */
void sl_bmetrics_worker_lost(sl_bmetrics_t *m);

/* A submit was accepted (is_accepted) or rejected. */
void sl_bmetrics_submitted(sl_bmetrics_t *m, bool is_accepted);

/* A run finished in state ("done", "failed", "cancelled"), started_us
 * (zclock_usecs) when it was made. */
void sl_bmetrics_run_finished(sl_bmetrics_t *m, const char *state,
                              int64_t started_us);

void sl_bmetrics_totals(const sl_bmetrics_t *m, sl_bmetrics_totals_t *out);

/* Appends every broker metric, with gauges g and the process set, in the
 * Prometheus text format. Returns 0 or SL_ENOMEM. */
int sl_bmetrics_render(sl_bmetrics_t *m, const sl_bmetrics_gauges_t *g,
                       sl_buf_t *out);

#endif
