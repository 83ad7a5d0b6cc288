/* common/load_threshold.c: parsing and checking --threshold. */
#include "load_threshold.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
bad(const char *text, sl_error_t *err, const char *why)
{
    return sl_error_set(err, SL_EINVAL,
                        "--threshold '%s': %s (such as p99<200ms, max<=1s, "
                        "mean<50ms, errors<0.1%%, errors<10, late<1%%, "
                        "rate>=990)",
                        text, why);
}

/* A latency: a number and us, ms or s (a bare number is ms), into us. */
static bool
parse_latency(const char *text, double *us)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || !isfinite(v) || v < 0)
        return false;
    double scale = !*end || !strcmp(end, "ms") ? 1000
                   : !strcmp(end, "us")        ? 1
                   : !strcmp(end, "s")         ? 1000000
                                               : -1;
    *us = v * scale;
    return scale > 0;
}

int
sl_load_threshold_parse(const char *text, sl_load_threshold_t *t,
                        sl_error_t *err)
{
    *t = (sl_load_threshold_t){0};
    if (strlen(text) >= sizeof t->text)
        return bad(text, err, "too long");
    snprintf(t->text, sizeof t->text, "%s", text);
    size_t name = strcspn(text, "<>=");
    const char *op = text + name, *limit;
    if (!*op)
        return bad(text, err, "no < <= > or >=");
    t->op = op[0] == '<' ? SL_LOAD_LT : SL_LOAD_GT;
    limit = op + 1;
    if (*limit == '=') {
        t->op = t->op == SL_LOAD_LT ? SL_LOAD_LE : SL_LOAD_GE;
        limit++;
    } else if (op[0] == '=') {
        return bad(text, err, "no < <= > or >=");
    }
    char metric[32];
    snprintf(metric, sizeof metric, "%.*s", (int)(name < 31 ? name : 31), text);
    bool is_latency = true;
    if (metric[0] == 'p' && metric[1]) {
        char *end;
        double q = strtod(metric + 1, &end);
        if (*end || !(q > 0 && q < 100))
            return bad(text, err, "a percentile is p50, p99, p99.9 ...");
        t->metric = SL_LOAD_METRIC_QUANTILE;
        t->quantile = q / 100;
    } else if (!strcmp(metric, "max")) {
        t->metric = SL_LOAD_METRIC_MAX;
    } else if (!strcmp(metric, "mean")) {
        t->metric = SL_LOAD_METRIC_MEAN;
    } else {
        is_latency = false;
        if (!strcmp(metric, "errors"))
            t->metric = SL_LOAD_METRIC_ERRORS;
        else if (!strcmp(metric, "late"))
            t->metric = SL_LOAD_METRIC_LATE;
        else if (!strcmp(metric, "rate"))
            t->metric = SL_LOAD_METRIC_RATE;
        else
            return bad(text, err, "unknown figure");
    }
    if (is_latency) {
        if (!parse_latency(limit, &t->limit))
            return bad(text, err, "a latency is a number and us, ms or s");
        return 0;
    }
    char *end;
    t->limit = strtod(limit, &end);
    if (end == limit || !isfinite(t->limit) || t->limit < 0)
        return bad(text, err, "the limit must be a number >= 0");
    if (!strcmp(end, "%") && t->metric != SL_LOAD_METRIC_RATE) {
        t->is_percent = true;
        t->limit /= 100;
    } else if (*end) {
        return bad(text, err, "the limit must be a number, or a percentage");
    }
    return 0;
}

double
sl_load_threshold_actual(const sl_load_threshold_t *t, const sl_load_stats_t *s,
                         double seconds)
{
    uint64_t tried = s->answered, failed = sl_load_stats_failed(s);
    for (size_t k = 0; k < SL_LOAD_ERR_COUNT; k++)
        tried += s->errors[k];
    switch (t->metric) {
    case SL_LOAD_METRIC_QUANTILE:
        return (double)sl_hist_quantile(s->latency_us, t->quantile);
    case SL_LOAD_METRIC_MAX: return (double)sl_hist_max(s->latency_us);
    case SL_LOAD_METRIC_MEAN: return sl_hist_mean(s->latency_us);
    case SL_LOAD_METRIC_ERRORS:
        return t->is_percent ? (tried ? (double)failed / (double)tried : 0)
                             : (double)failed;
    case SL_LOAD_METRIC_LATE:
        return t->is_percent ? (s->sent ? (double)s->late / (double)s->sent : 0)
                             : (double)s->late;
    case SL_LOAD_METRIC_RATE:
        return seconds > 0 ? (double)s->answered / seconds : 0;
    }
    return 0;
}

bool
sl_load_threshold_holds(const sl_load_threshold_t *t, double actual)
{
    switch (t->op) {
    case SL_LOAD_LT: return actual < t->limit;
    case SL_LOAD_LE: return actual <= t->limit;
    case SL_LOAD_GT: return actual > t->limit;
    case SL_LOAD_GE: return actual >= t->limit;
    }
    return false;
}
