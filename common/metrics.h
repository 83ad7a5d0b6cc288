/* common/metrics.h: a set of Prometheus metrics (counters, gauges and
 * histograms, each a family of labelled series) and its text exposition
 * format (version 0.0.4), for the /metrics of the broker and the worker.
 * One set belongs to one thread; nothing here locks. */
#ifndef SL_METRICS_H
#define SL_METRICS_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

/* The content type of what sl_metrics_render writes. */
#define SL_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Series a family holds at most: label values past it are counted under
 * the value "other", so a flood of new task names cannot grow it. */
#define SL_METRICS_SERIES_MAX 500

/* Label names a family takes at most. */
#define SL_METRICS_LABELS_MAX 3

/* The upper bounds of every histogram's buckets, in seconds (then +Inf). */
#define SL_METRICS_BUCKETS 19

typedef struct sl_metrics sl_metrics_t;
typedef struct sl_metric sl_metric_t; /* a family: name, help, type */
typedef struct sl_series sl_series_t; /* one label set of a family */

typedef enum {
    SL_METRIC_COUNTER,
    SL_METRIC_GAUGE,
    SL_METRIC_HISTOGRAM
} sl_metric_kind_t;

/* An empty set, or NULL when memory runs out. */
sl_metrics_t *sl_metrics_new(void);

/* NULL-safe; sets *p to NULL. */
void sl_metrics_destroy(sl_metrics_t **p);

/* Adds a family. labels: its label names, comma-separated ("task,outcome"),
 * or NULL for one series with none (made at once, so it shows 0 before its
 * first event). The strings are copied. NULL when memory runs out or on a
 * programmer error (a name that is not [a-zA-Z_:][a-zA-Z0-9_:]*, too many
 * labels); every call on a NULL family or series does nothing. */
sl_metric_t *sl_metrics_add(sl_metrics_t *m, sl_metric_kind_t kind,
                            const char *name, const char *help,
                            const char *labels);

/* The series of f with these label values, one per label name, made on
 * first use; borrowed until the set is destroyed. */
sl_series_t *sl_metric_at(sl_metric_t *f, ...);

/* Counter or gauge: adds by (a counter only goes up: by < 0 is ignored). */
void sl_series_add(sl_series_t *s, double by);

/* Gauge: sets the value. */
void sl_series_set(sl_series_t *s, double value);

/* Histogram: counts one observation, in seconds. */
void sl_series_observe(sl_series_t *s, double seconds);

/* The value of a counter or gauge, the count of a histogram; 0 for NULL. */
double sl_series_value(const sl_series_t *s);

/* Appends every family, in the order added, in the text format. Returns 0
 * or SL_ENOMEM. */
int sl_metrics_render(const sl_metrics_t *m, sl_buf_t *out);

/* Appends the standard process_* families of this process (CPU, memory,
 * file descriptors, start time, from /proc/self) and
 * sluice_build_info{version,role}. Returns 0 or SL_ENOMEM; a figure /proc
 * does not give is left out. */
int sl_metrics_render_process(sl_buf_t *out, const char *role);

#endif
