/* common/metrics.c: Prometheus metrics and their text format. A family
 * keeps its series in a list (the order they appeared, which is the order
 * rendered) and a hash from the label values to the series. Owned by one
 * thread; never locks, never logs. */
#include "metrics.h"

#include "error.h"

#include <czmq.h>
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "unknown"
#endif

static const double bucket_le[SL_METRICS_BUCKETS] =
    {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
     0.25,   0.5,     1,      2.5,   5,      10,    30,   60,    300};

struct sl_series {
    char *labels;   /* rendered: task="add",outcome="ok"; "" if none */
    double value;   /* counter, gauge; histogram: the sum */
    uint64_t count; /* histogram: observations */
    uint64_t buckets[SL_METRICS_BUCKETS]; /* histogram: per bucket, not
                                              cumulative */
};

struct sl_metric {
    sl_metric_kind_t kind;
    char *name;
    char *help;
    char *label_names[SL_METRICS_LABELS_MAX];
    size_t label_count;
    zlistx_t *series;    /* sl_series_t, owned, in order of first use */
    zhashx_t *by_values; /* label values joined by \x1f -> series */
};

struct sl_metrics {
    zlistx_t *families; /* sl_metric_t, owned, in order added */
};

static void
series_free(sl_series_t **p)
{
    if (!p || !*p)
        return;
    free((*p)->labels);
    free(*p);
    *p = NULL;
}

static void
family_free(sl_metric_t **p)
{
    if (!p || !*p)
        return;
    sl_metric_t *f = *p;
    for (sl_series_t *s = f->series ? zlistx_first(f->series) : NULL; s;
         s = zlistx_next(f->series))
        series_free(&s);
    zlistx_destroy(&f->series);
    zhashx_destroy(&f->by_values);
    for (size_t i = 0; i < f->label_count; i++)
        free(f->label_names[i]);
    free(f->name);
    free(f->help);
    free(f);
    *p = NULL;
}

sl_metrics_t *
sl_metrics_new(void)
{
    sl_metrics_t *m = calloc(1, sizeof *m);
    if (m && !(m->families = zlistx_new()))
        sl_metrics_destroy(&m);
    return m;
}

void
sl_metrics_destroy(sl_metrics_t **p)
{
    if (!p || !*p)
        return;
    sl_metrics_t *m = *p;
    for (sl_metric_t *f = m->families ? zlistx_first(m->families) : NULL; f;
         f = zlistx_next(m->families))
        family_free(&f);
    zlistx_destroy(&m->families);
    free(m);
    *p = NULL;
}

static bool
is_name(const char *s, bool is_label)
{
    if (!s || !*s || isdigit((unsigned char)*s))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && (is_label || *s != ':'))
            return false;
    return true;
}

/* Splits "a,b" into f's label names; false on a bad or extra name. */
static bool
set_labels(sl_metric_t *f, const char *labels)
{
    char *copy = labels ? strdup(labels) : NULL, *save = NULL;
    bool is_ok = !labels || copy;
    for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && is_ok;
         tok = strtok_r(NULL, ",", &save)) {
        is_ok = f->label_count < SL_METRICS_LABELS_MAX && is_name(tok, true) &&
                strcmp(tok, "le") != 0 &&
                (f->label_names[f->label_count] = strdup(tok));
        f->label_count += is_ok;
    }
    free(copy);
    return is_ok;
}

sl_metric_t *
sl_metrics_add(sl_metrics_t *m, sl_metric_kind_t kind, const char *name,
               const char *help, const char *labels)
{
    if (!m || !is_name(name, false))
        return NULL;
    sl_metric_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->kind = kind;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    f->series = zlistx_new();
    f->by_values = zhashx_new();
    bool is_ok = f->name && f->help && f->series && f->by_values &&
                 set_labels(f, labels) && zlistx_add_end(m->families, f);
    if (is_ok && f->label_count == 0)
        is_ok = sl_metric_at(f) != NULL;
    if (!is_ok) {
        family_free(&f); /* a failed add_end left the list unchanged */
        return NULL;
    }
    return f;
}

/* Appends v as a label value: backslash, quote and newline escaped. */
static void
put_escaped(sl_buf_t *b, const char *v, bool is_label)
{
    for (; *v; v++) {
        if (*v == '\\')
            sl_buf_append(b, "\\\\", 2);
        else if (*v == '\n')
            sl_buf_append(b, "\\n", 2);
        else if (*v == '"' && is_label)
            sl_buf_append(b, "\\\"", 2);
        else
            sl_buf_putc(b, *v);
    }
}

static sl_series_t *
series_new(sl_metric_t *f, const char **values)
{
    sl_buf_t labels = {0};
    sl_series_t *s = calloc(1, sizeof *s);
    for (size_t i = 0; s && i < f->label_count; i++) {
        sl_buf_printf(&labels, "%s%s=\"", i ? "," : "", f->label_names[i]);
        put_escaped(&labels, values[i], true);
        sl_buf_putc(&labels, '"');
    }
    if (s && !(s->labels = sl_buf_steal(&labels))) {
        free(s);
        s = NULL;
    }
    sl_buf_fini(&labels);
    return s;
}

/* Room for a series' hash key on the stack: a lookup on the broker's
 * per-task path allocates nothing unless label values are this long. */
#define KEY_STACK_BYTES 256

/* The hash key of values[0..label_count), joined by \x1f: in stack
 * (KEY_STACK_BYTES) if it fits, else in *heap (the caller frees it); NULL
 * when memory runs out. */
static const char *
make_key(const sl_metric_t *f, const char **values, char *stack, char **heap)
{
    size_t len = 0;
    for (size_t i = 0; i < f->label_count; i++)
        len += strlen(values[i]) + 1;
    char *key = len <= KEY_STACK_BYTES ? stack : (*heap = malloc(len));
    char *p = key;
    for (size_t i = 0; key && i < f->label_count; i++) {
        size_t n = strlen(values[i]);
        if (i)
            *p++ = '\x1f';
        memcpy(p, values[i], n);
        p += n;
    }
    if (key)
        *p = '\0';
    return key;
}

static sl_series_t *
lookup(const sl_metric_t *f, const char **values)
{
    char stack[KEY_STACK_BYTES], *heap = NULL;
    const char *k = make_key(f, values, stack, &heap);
    sl_series_t *s = k ? zhashx_lookup(f->by_values, k) : NULL;
    free(heap);
    return s;
}

static sl_series_t *
make(sl_metric_t *f, const char **values)
{
    char stack[KEY_STACK_BYTES], *heap = NULL;
    const char *k = make_key(f, values, stack, &heap);
    sl_series_t *s = k ? series_new(f, values) : NULL;
    if (s && zhashx_insert(f->by_values, k, s) != 0)
        series_free(&s);
    if (s && !zlistx_add_end(f->series, s)) {
        zhashx_delete(f->by_values, k);
        series_free(&s);
    }
    free(heap);
    return s;
}

sl_series_t *
sl_metric_at(sl_metric_t *f, ...)
{
    if (!f)
        return NULL;
    sl_series_t *s = f->label_count ? NULL : zlistx_head(f->series);
    if (s)
        return s; /* no labels: the one series, without hashing */
    const char *values[SL_METRICS_LABELS_MAX] = {0};
    va_list ap;
    va_start(ap, f);
    for (size_t i = 0; i < f->label_count; i++) {
        values[i] = va_arg(ap, const char *);
        if (!values[i])
            values[i] = "";
    }
    va_end(ap);
    if ((s = lookup(f, values)))
        return s;
    if (zlistx_size(f->series) >= SL_METRICS_SERIES_MAX) {
        for (size_t i = 0; i < f->label_count; i++)
            values[i] = "other"; /* made once, one past the cap */
        if ((s = lookup(f, values)))
            return s;
    }
    return make(f, values);
}

void
sl_series_add(sl_series_t *s, double by)
{
    if (s && by >= 0)
        s->value += by;
}

void
sl_series_set(sl_series_t *s, double value)
{
    if (s)
        s->value = value;
}

void
sl_series_observe(sl_series_t *s, double seconds)
{
    if (!s || !(seconds >= 0)) /* NaN too */
        return;
    size_t i = 0;
    while (i < SL_METRICS_BUCKETS && seconds > bucket_le[i])
        i++;
    if (i < SL_METRICS_BUCKETS)
        s->buckets[i]++;
    s->count++;
    s->value += seconds;
}

double
sl_series_value(const sl_series_t *s)
{
    return !s ? 0 : s->count ? (double)s->count : s->value;
}

/* A sample value: whole numbers exactly, others to 15 digits. */
static void
put_number(sl_buf_t *b, double v)
{
    if (isinf(v))
        sl_buf_printf(b, "%s", v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9007199254740992.0)
        sl_buf_printf(b, "%.0f", v);
    else
        sl_buf_printf(b, "%.15g", v);
}

static void
put_sample(sl_buf_t *b, const char *name, const char *suffix,
           const char *labels, const char *extra, double v)
{
    bool has_labels = *labels || extra;
    sl_buf_printf(b, "%s%s", name, suffix);
    if (has_labels)
        sl_buf_printf(b, "{%s%s%s}", labels, *labels && extra ? "," : "",
                      extra ? extra : "");
    sl_buf_putc(b, ' ');
    put_number(b, v);
    sl_buf_putc(b, '\n');
}

static void
render_histogram(sl_buf_t *b, const sl_metric_t *f, const sl_series_t *s)
{
    uint64_t sum = 0;
    char le[48];
    for (size_t i = 0; i < SL_METRICS_BUCKETS; i++) {
        sum += s->buckets[i];
        snprintf(le, sizeof le, "le=\"%g\"", bucket_le[i]);
        put_sample(b, f->name, "_bucket", s->labels, le, (double)sum);
    }
    put_sample(b, f->name, "_bucket", s->labels, "le=\"+Inf\"",
               (double)s->count);
    put_sample(b, f->name, "_sum", s->labels, NULL, s->value);
    put_sample(b, f->name, "_count", s->labels, NULL, (double)s->count);
}

int
sl_metrics_render(const sl_metrics_t *m, sl_buf_t *out)
{
    static const char *types[] = {"counter", "gauge", "histogram"};
    size_t before = out->size;
    for (sl_metric_t *f = zlistx_first(m->families); f;
         f = zlistx_next(m->families)) {
        sl_buf_printf(out, "# HELP %s ", f->name);
        put_escaped(out, f->help, false);
        sl_buf_printf(out, "\n# TYPE %s %s\n", f->name, types[f->kind]);
        for (sl_series_t *s = zlistx_first(f->series); s;
             s = zlistx_next(f->series)) {
            if (f->kind == SL_METRIC_HISTOGRAM)
                render_histogram(out, f, s);
            else
                put_sample(out, f->name, "", s->labels, NULL, s->value);
        }
    }
    return zlistx_size(m->families) == 0 || out->size > before ? 0 : SL_ENOMEM;
}

/* ---- process_* ----------------------------------------------------------- */

static void
put_family(sl_buf_t *b, const char *name, const char *type, const char *help,
           double v)
{
    sl_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    put_sample(b, name, "", "", NULL, v);
}

/* The boot time in unix seconds (/proc/stat btime); 0 if unknown. */
static double
boot_time(void)
{
    FILE *f = fopen("/proc/stat", "r");
    char line[256];
    double btime = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "btime %lf", &btime) == 1)
            break;
    if (f)
        fclose(f);
    return btime;
}

/* utime, stime and starttime (clock ticks), vsize and rss (pages) from
 * /proc/self/stat; false if it cannot be read. */
static bool
read_stat(double *cpu_s, double *start_s, double *vsize, double *rss)
{
    char text[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = '\0';
    char *p = strrchr(text, ')'); /* the command name may hold anything */
    unsigned long utime, stime, vsz;
    unsigned long long start;
    long pages;
    /* after ')': state (3), then fields 4..13 skipped, 14 utime, 15 stime,
     * 16..21 skipped, 22 starttime, 23 vsize, 24 rss */
    if (!p || sscanf(p + 1,
                     " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d "
                     "%*d %*d %*d %*d %*d %llu %lu %ld",
                     &utime, &stime, &start, &vsz, &pages) != 5)
        return false;
    double tick = (double)sysconf(_SC_CLK_TCK);
    *cpu_s = (double)(utime + stime) / tick;
    *start_s = boot_time() + (double)start / tick;
    *vsize = (double)vsz;
    *rss = (double)pages * (double)sysconf(_SC_PAGESIZE);
    return true;
}

static size_t
open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    size_t n = 0;
    for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n ? n - 1 : 0; /* less the one opendir holds */
}

int
sl_metrics_render_process(sl_buf_t *out, const char *role)
{
    double cpu_s, start_s, vsize, rss;
    size_t before = out->size;
    if (read_stat(&cpu_s, &start_s, &vsize, &rss)) {
        put_family(out, "process_cpu_seconds_total", "counter",
                   "Total user and system CPU time spent in seconds.", cpu_s);
        put_family(out, "process_resident_memory_bytes", "gauge",
                   "Resident memory size in bytes.", rss);
        put_family(out, "process_virtual_memory_bytes", "gauge",
                   "Virtual memory size in bytes.", vsize);
        put_family(out, "process_start_time_seconds", "gauge",
                   "Start time of the process since unix epoch in seconds.",
                   start_s);
    }
    put_family(out, "process_open_fds", "gauge",
               "Number of open file descriptors.", (double)open_fds());
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
        put_family(out, "process_max_fds", "gauge",
                   "Maximum number of open file descriptors.",
                   (double)lim.rlim_cur);
    sl_buf_printf(out,
                  "# HELP sluice_build_info The version of sluice this process "
                  "runs (always 1).\n# TYPE sluice_build_info "
                  "gauge\nsluice_build_info{version=\"%s\",role=\"%s\"} 1\n",
                  SLUICE_VERSION, role);
    return out->data && out->size > before ? 0 : SL_ENOMEM;
}
