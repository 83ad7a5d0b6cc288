/* client/load_report.c: a load test's figures for people, for programs
 * (--json) and for spreadsheets (--csv). */
#include "load_report.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    double q;
} quantiles[] = {{"p50", 0.5},
                 {"p90", 0.9},
                 {"p99", 0.99},
                 {"p99.9", 0.999},
                 {"p99.99", 0.9999}};
#define QUANTILES (sizeof quantiles / sizeof quantiles[0])

/* Scheduled requests no share accounted for (sent or unsent): those of a
 * share lost or stopped after its last report. */
static uint64_t
unreported(const sl_load_stats_t *s)
{
    return s->scheduled > s->sent + s->unsent
               ? s->scheduled - s->sent - s->unsent
               : 0;
}

bool
sl_load_report_passes(const sl_load_report_t *r)
{
    for (size_t i = 0; i < r->threshold_count; i++)
        if (!sl_load_threshold_holds(&r->thresholds[i],
                                     sl_load_threshold_actual(&r->thresholds[i],
                                                              r->stats,
                                                              r->seconds)))
            return false;
    return true;
}

/* us as "0.214 ms", "12.5 ms" or "1.20 s". */
static const char *
latency(uint64_t us, char *buf, size_t size)
{
    if (us >= 1000000)
        snprintf(buf, size, "%.2f s", (double)us / 1e6);
    else if (us >= 10000)
        snprintf(buf, size, "%.1f ms", (double)us / 1e3);
    else
        snprintf(buf, size, "%.3f ms", (double)us / 1e3);
    return buf;
}

static const char *
bytes(uint64_t n, char *buf, size_t size)
{
    if (n >= 10u << 20)
        snprintf(buf, size, "%.1f MiB", (double)n / (1 << 20));
    else if (n >= 10u << 10)
        snprintf(buf, size, "%.1f KiB", (double)n / (1 << 10));
    else
        snprintf(buf, size, "%llu B", (unsigned long long)n);
    return buf;
}

/* The figure a threshold looks at, as its limit is written. */
static void
threshold_figure(const sl_load_threshold_t *t, double actual, char *buf,
                 size_t size)
{
    if (t->metric <= SL_LOAD_METRIC_MEAN)
        latency((uint64_t)actual, buf, size);
    else if (t->is_percent)
        snprintf(buf, size, "%.3f%%", actual * 100);
    else
        snprintf(buf, size, "%.1f", actual);
}

/* A line per request of the scenario: its count, failures, latency. */
static void
print_requests(FILE *out, const sl_load_report_t *r)
{
    const sl_load_stats_t *s = r->stats;
    char a[32], b[32], c[32];
    fprintf(out, "  by request%28s %8s %8s %10s %10s %10s\n", "", "sent",
            "failed", "p50", "p99", "max");
    for (uint32_t i = 0; i < s->request_count && i < r->spec->request_count;
         i++) {
        const sl_load_request_stats_t *q = &s->requests[i];
        const sl_hist_t *h = q->answered ? q->latency_us : NULL;
        fprintf(out, "    %-36.36s %8llu %8llu %10s %10s %10s\n",
                r->spec->requests[i].name, (unsigned long long)q->sent,
                (unsigned long long)q->failed,
                h ? latency(sl_hist_quantile(h, 0.5), a, sizeof a) : "-",
                h ? latency(sl_hist_quantile(h, 0.99), b, sizeof b) : "-",
                h ? latency(sl_hist_max(h), c, sizeof c) : "-");
    }
}

void
sl_load_report_print(FILE *out, const sl_load_report_t *r)
{
    const sl_load_stats_t *s = r->stats;
    char a[32], b[32];
    uint64_t errors = 0;
    for (size_t k = 0; k < SL_LOAD_ERR_COUNT; k++)
        errors += s->errors[k];
    fprintf(out, "sluice load: %s, %u share%s, %.1f s%s\n", r->target,
            r->shares, r->shares == 1 ? "" : "s", r->seconds,
            r->is_cancelled ? ", cancelled: partial figures" : "");
    fprintf(out,
            "  requests  %llu scheduled, %llu sent, %llu answered, %llu "
            "no response, %llu unsent, %llu aborted\n",
            (unsigned long long)s->scheduled, (unsigned long long)s->sent,
            (unsigned long long)s->answered, (unsigned long long)errors,
            (unsigned long long)s->unsent, (unsigned long long)s->aborted);
    fprintf(out, "  rate      %.1f/s sent, %.1f/s answered\n",
            r->seconds > 0 ? (double)s->sent / r->seconds : 0,
            r->seconds > 0 ? (double)s->answered / r->seconds : 0);
    fprintf(out,
            "  late      %llu sent 1 ms or more after their time, the "
            "latest %s after\n",
            (unsigned long long)s->late, latency(s->max_lag_us, a, sizeof a));
    fprintf(out, "  latency  ");
    for (size_t i = 0; i < QUANTILES; i++)
        fprintf(out, " %s %s", quantiles[i].name,
                latency(sl_hist_quantile(s->latency_us, quantiles[i].q), a,
                        sizeof a));
    fprintf(out, " max %s\n", latency(sl_hist_max(s->latency_us), a, sizeof a));
    fprintf(out, "  status   ");
    for (size_t c = 0; c < SL_LOAD_STATUS_LIMIT; c++)
        if (s->by_status[c])
            fprintf(out, " %zu: %llu", c, (unsigned long long)s->by_status[c]);
    fprintf(out, "%s\n", s->answered ? "" : " none");
    if (errors) {
        fprintf(out, "  errors   ");
        for (size_t k = 0; k < SL_LOAD_ERR_COUNT; k++)
            if (s->errors[k])
                fprintf(out, " %s: %llu", sl_load_error_name(k),
                        (unsigned long long)s->errors[k]);
        fprintf(out, "\n");
    }
    fprintf(out, "  bytes     %s out, %s in\n",
            bytes(s->bytes_out, a, sizeof a), bytes(s->bytes_in, b, sizeof b));
    if (s->request_count > 1)
        print_requests(out, r);
    if (unreported(s))
        fprintf(out,
                "  UNREPORTED %llu requests: their shares stopped or were "
                "lost before reporting them\n",
                (unsigned long long)unreported(s));
    for (size_t i = 0; i < r->lost_count; i++)
        fprintf(out,
                "  LOST      share %u%s%s: %s; %s of its %llu requests "
                "are in these figures\n",
                r->lost[i].share, *r->lost[i].worker ? " on " : "",
                r->lost[i].worker, r->lost[i].error,
                r->lost[i].has_report ? "those up to its last report" : "none",
                (unsigned long long)r->lost[i].scheduled);
    for (size_t i = 0; i < r->threshold_count; i++) {
        const sl_load_threshold_t *t = &r->thresholds[i];
        double actual = sl_load_threshold_actual(t, s, r->seconds);
        threshold_figure(t, actual, a, sizeof a);
        fprintf(out, "  threshold %-16s %s (%s)\n", t->text,
                sl_load_threshold_holds(t, actual) ? "ok" : "BROKEN", a);
    }
}

static void
put_count(sl_value_t *v, const char *key, uint64_t n)
{
    sl_value_put_int(v, key, (int64_t)n);
}

static void
put(sl_value_t *map, const char *key, sl_value_t *v)
{
    sl_value_put(map, key, &v); /* consumes v */
}

/* A map per request of the scenario: name, counts, latency. */
static sl_value_t *
requests_value(const sl_load_report_t *r)
{
    const sl_load_stats_t *s = r->stats;
    sl_value_t *list = sl_value_new_list();
    for (uint32_t i = 0;
         list && i < s->request_count && i < r->spec->request_count; i++) {
        const sl_load_request_stats_t *q = &s->requests[i];
        sl_value_t *m = sl_value_new_map(), *lat = sl_value_new_map();
        sl_value_put_string(m, "name", r->spec->requests[i].name);
        put_count(m, "sent", q->sent);
        put_count(m, "answered", q->answered);
        put_count(m, "failed", q->failed);
        for (size_t k = 0; k < QUANTILES; k++)
            put_count(lat, quantiles[k].name,
                      q->latency_us
                          ? sl_hist_quantile(q->latency_us, quantiles[k].q)
                          : 0);
        put_count(lat, "max", q->latency_us ? sl_hist_max(q->latency_us) : 0);
        put(m, "latency_us", lat);
        sl_value_push(list, &m);
    }
    return list;
}

sl_value_t *
sl_load_report_value(const sl_load_report_t *r)
{
    const sl_load_stats_t *s = r->stats;
    sl_value_t *v = sl_value_new_map(), *lat = sl_value_new_map(),
               *lost = sl_value_new_list(), *th = sl_value_new_list(),
               *timeline = sl_value_new_list();
    sl_value_t *shares = sl_load_stats_to_value(s); /* status, errors */
    if (!v || !lat || !lost || !th || !timeline || !shares) {
        sl_value_destroy(&v);
        sl_value_destroy(&lat);
        sl_value_destroy(&lost);
        sl_value_destroy(&th);
        sl_value_destroy(&timeline);
        sl_value_destroy(&shares);
        return NULL;
    }
    sl_value_put_string(v, "target", r->target);
    put_count(v, "shares", r->shares);
    put(v, "seconds", sl_value_new_double(r->seconds));
    put(v, "cancelled", sl_value_new_bool(r->is_cancelled));
    put_count(v, "scheduled", s->scheduled);
    put_count(v, "sent", s->sent);
    put_count(v, "answered", s->answered);
    put_count(v, "failed", sl_load_stats_failed(s));
    put_count(v, "unsent", s->unsent);
    put_count(v, "unreported", unreported(s));
    put_count(v, "aborted", s->aborted);
    put_count(v, "late", s->late);
    put_count(v, "max_lag_us", s->max_lag_us);
    put(v, "rate",
        sl_value_new_double(r->seconds > 0 ? (double)s->sent / r->seconds : 0));
    put_count(v, "bytes_out", s->bytes_out);
    put_count(v, "bytes_in", s->bytes_in);
    for (size_t i = 0; i < QUANTILES; i++)
        put_count(lat, quantiles[i].name,
                  sl_hist_quantile(s->latency_us, quantiles[i].q));
    put_count(lat, "min", sl_hist_min(s->latency_us));
    put_count(lat, "max", sl_hist_max(s->latency_us));
    put(lat, "mean", sl_value_new_double(sl_hist_mean(s->latency_us)));
    put(v, "latency_us", lat);
    put(v, "status", sl_value_copy(sl_value_lookup(shares, "status")));
    put(v, "errors", sl_value_copy(sl_value_lookup(shares, "errors")));
    sl_value_destroy(&shares);
    for (size_t i = 0; i < r->lost_count; i++) {
        sl_value_t *m = sl_value_new_map();
        put_count(m, "share", r->lost[i].share);
        sl_value_put_string(m, "worker", r->lost[i].worker);
        sl_value_put_string(m, "error", r->lost[i].error);
        put_count(m, "scheduled", r->lost[i].scheduled);
        put(m, "reported", sl_value_new_bool(r->lost[i].has_report));
        sl_value_push(lost, &m);
    }
    put(v, "lost_shares", lost);
    put(v, "requests", requests_value(r));
    for (size_t i = 0; i < r->threshold_count; i++) {
        const sl_load_threshold_t *t = &r->thresholds[i];
        double actual = sl_load_threshold_actual(t, s, r->seconds);
        sl_value_t *m = sl_value_new_map();
        sl_value_put_string(m, "threshold", t->text);
        put(m, "actual", sl_value_new_double(actual));
        put(m, "ok", sl_value_new_bool(sl_load_threshold_holds(t, actual)));
        sl_value_push(th, &m);
    }
    put(v, "thresholds", th);
    for (uint32_t i = 0; i < sl_load_stats_seconds_used(s); i++) {
        sl_value_t *m = sl_value_new_map();
        put_count(m, "second", i);
        put_count(m, "sent", s->seconds[i].sent);
        put_count(m, "answered", s->seconds[i].answered);
        put_count(m, "failed", s->seconds[i].failed);
        sl_value_push(timeline, &m);
    }
    put(v, "timeline", timeline);
    return v;
}

int
sl_load_report_csv(const char *path, const sl_load_report_t *r)
{
    FILE *fp = fopen(path, "w");
    if (!fp)
        return -1;
    const sl_load_stats_t *s = r->stats;
    fprintf(fp, "second,sent,answered,failed\n");
    for (uint32_t i = 0; i < sl_load_stats_seconds_used(s); i++)
        fprintf(fp, "%u,%llu,%llu,%llu\n", i,
                (unsigned long long)s->seconds[i].sent,
                (unsigned long long)s->seconds[i].answered,
                (unsigned long long)s->seconds[i].failed);
    return fclose(fp) == 0 ? 0 : -1;
}
