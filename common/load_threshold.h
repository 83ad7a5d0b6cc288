/* common/load_threshold.h: `sluice load --threshold`, a limit a load
 * test's figures must keep for the command to exit 0 (docs/LOAD.md,
 * "Thresholds"): p99<200ms, max<=1s, mean<50ms, errors<0.1%, errors<10,
 * late<1%, rate>=990. Pure. */
#ifndef SL_LOAD_THRESHOLD_H
#define SL_LOAD_THRESHOLD_H

#include <stdbool.h>

#include "load_stats.h"

typedef enum {
    SL_LOAD_METRIC_QUANTILE, /* pNN: latency */
    SL_LOAD_METRIC_MAX,
    SL_LOAD_METRIC_MEAN,
    SL_LOAD_METRIC_ERRORS, /* failed requests: no response, or >= 400 */
    SL_LOAD_METRIC_LATE,   /* sends 1 ms or more after their time */
    SL_LOAD_METRIC_RATE    /* responses per second over the test */
} sl_load_metric_t;

typedef enum { SL_LOAD_LT, SL_LOAD_LE, SL_LOAD_GT, SL_LOAD_GE } sl_load_op_t;

typedef struct {
    char text[64]; /* as given */
    sl_load_metric_t metric;
    double quantile; /* pNN: NN / 100 */
    sl_load_op_t op;
    double limit;    /* latency in us; a count, a fraction, or a rate */
    bool is_percent; /* errors and late: limit is a fraction of requests */
} sl_load_threshold_t;

/* Parses text; SL_EINVAL saying what is wrong and what is taken. */
int sl_load_threshold_parse(const char *text, sl_load_threshold_t *t,
                            sl_error_t *err);

/* The figure t looks at, in t's unit (us, a count, a fraction, per
 * second), from s over a test of seconds. */
double sl_load_threshold_actual(const sl_load_threshold_t *t,
                                const sl_load_stats_t *s, double seconds);

/* Whether actual keeps t. */
bool sl_load_threshold_holds(const sl_load_threshold_t *t, double actual);

#endif
