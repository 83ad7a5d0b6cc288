/* worker/worker_metrics.h: what a worker counts for /metrics: tasks by
 * name and outcome, compute time, cache round trips by op and result, and,
 * at each scrape, the gauges the worker thread reads off its state. Owned
 * by the worker thread; executors report through their "R" messages. */
#ifndef SL_WORKER_METRICS_H
#define SL_WORKER_METRICS_H

#include "buf.h"
#include "executor.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct sl_wmetrics sl_wmetrics_t;

/* The state the gauges show, read at each scrape. */
typedef struct sl_wmetrics_gauges {
    size_t slots;      /* executors */
    size_t busy;       /* of which running a batch */
    size_t held;       /* tasks in hand: queued here or running */
    bool is_connected; /* the broker spoke within its liveness */
    bool is_draining;  /* stopping: takes no new tasks */
} sl_wmetrics_gauges_t;

/* NULL when memory runs out. */
sl_wmetrics_t *sl_wmetrics_new(void);
void sl_wmetrics_destroy(sl_wmetrics_t **p);

/* Takes the stats frames of an executor's "R" message (arrays of
 * sl_exec_result_stat_t and sl_exec_cache_stat_t; a frame of the wrong
 * size is ignored). */
void sl_wmetrics_take(sl_wmetrics_t *m, zframe_t *results, zframe_t *trips);

/* The worker connected to the broker again (a new socket). */
void sl_wmetrics_reconnected(sl_wmetrics_t *m);

/* Appends every worker metric, with gauges g and the process set, in the
 * Prometheus text format. Returns 0 or SL_ENOMEM. */
int sl_wmetrics_render(sl_wmetrics_t *m, const sl_wmetrics_gauges_t *g,
                       sl_buf_t *out);

#endif
