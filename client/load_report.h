/* client/load_report.h: what `sluice load` prints at the end: the table,
 * --json, the --csv timeline, and the thresholds' verdict. */
#ifndef SL_LOAD_REPORT_H
#define SL_LOAD_REPORT_H

#include "load_spec.h"
#include "load_stats.h"
#include "load_threshold.h"

#include <stdbool.h>
#include <stdio.h>

/* A share that brought back no figures. */
typedef struct {
    uint32_t share;
    char worker[128]; /* where it ran; "" if it never started */
    char error[512];
    uint64_t scheduled;
    bool has_report; /* its figures up to its last report are counted */
} sl_load_lost_t;

typedef struct {
    const char *target;         /* the URL or scenario file */
    const sl_load_spec_t *spec; /* its requests' names */
    uint32_t shares;
    double seconds;               /* the schedule's length */
    const sl_load_stats_t *stats; /* every share that answered, merged */
    const sl_load_lost_t *lost;
    size_t lost_count;
    const sl_load_threshold_t *thresholds;
    size_t threshold_count;
    bool is_cancelled;
} sl_load_report_t;

/* Whether every threshold holds. */
bool sl_load_report_passes(const sl_load_report_t *r);

/* The table, for people. */
void sl_load_report_print(FILE *out, const sl_load_report_t *r);

/* The same as one JSON object (docs/LOAD.md, "--json"). */
sl_value_t *sl_load_report_value(const sl_load_report_t *r);

/* The timeline as CSV: second,sent,answered,failed. 0, or -1 with errno. */
int sl_load_report_csv(const char *path, const sl_load_report_t *r);

#endif
