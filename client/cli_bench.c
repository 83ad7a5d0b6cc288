/* client/cli_bench.c: `sluice bench WORKLOAD`: measures the limits of this
 * host, runs the workloads against a broker (or one started in this
 * process with --local), and prints each figure beside its limit, as a
 * table or as JSON. Exits 0 only if every workload's results were right. */
#include "cli.h"

#include "cache.h"

#include "bench.h"
#include "bench_limits.h"
#include "duration.h"
#include "value.h"
#include "local.h"
#include "log.h"

#include <czmq.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

typedef struct {
    const char *broker;       /* --broker */
    bool is_local;            /* --local */
    sl_local_options_t local; /* --workers, --slots */
    const char *cache_url;    /* --cache */
    sl_bench_options_t bench; /* what the workloads get */
    bool is_json;             /* --json */
    bool is_quiet;            /* --quiet */
    bool is_limits;           /* not --no-limits */
    const char *workload;     /* the argument */
} bench_args_t;

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: sluice bench WORKLOAD [options]\n  WORKLOAD            "
            "fanout, cached, chain, latency, rate, wide, spawn,\n"
            "                      spawncached or all\n  --broker "
            "ENDPOINT   the broker's client socket (default %s)\n  --local     "
            "        start a broker and workers in this process\n  --workers N "
            "        with --local: workers (default 2)\n  --slots N           "
            "with --local: threads per worker (default 2)\n  --cache URL       "
            "  the cache the flows use and the bench measures\n                "
            "      (default: the workers'; with --local the embedded one)\n  "
            "--tasks N           tasks per workload (runs for latency)\n  "
            "--payload BYTES     padding in each task and result (default 8)\n "
            " --no-cache          tasks with cache: none\n  --rate R           "
            " rate: runs sent per second (default 1000)\n  --duration D        "
            "rate: how long, e.g. 10s (default 5s)\n  --no-limits         do "
            "not measure the host's limits\n  --json              print the "
            "figures as JSON\n  --quiet             no progress bar\n",
            SL_CLI_BROKER);
}

static int
parse_args(bench_args_t *a, int argc, char **argv)
{
    static const struct option longs[] =
        {{"broker", required_argument, NULL, 'b'},
         {"local", no_argument, NULL, 'L'},
         {"workers", required_argument, NULL, 'w'},
         {"slots", required_argument, NULL, 's'},
         {"cache", required_argument, NULL, 'c'},
         {"tasks", required_argument, NULL, 'n'},
         {"payload", required_argument, NULL, 'P'},
         {"no-cache", no_argument, NULL, 'N'},
         {"rate", required_argument, NULL, 'r'},
         {"duration", required_argument, NULL, 'd'},
         {"no-limits", no_argument, NULL, 'l'},
         {"json", no_argument, NULL, 'j'},
         {"quiet", no_argument, NULL, 'q'},
         {"help", no_argument, NULL, 'h'},
         {NULL, 0, NULL, 0}};
    uint64_t v;
    int64_t ms;
    int c, at = 0;
    a->broker = sl_cli_broker();
    a->is_limits = true;
    a->bench.payload_bytes = 8;
    a->bench.is_cached = true;
    a->bench.rate = 1000;
    a->bench.duration_s = 5;
    while ((c = getopt_long(argc, argv, "", longs, &at)) != -1) {
        char name[32];
        snprintf(name, sizeof name, "--%s", longs[at].name);
        switch (c) {
        case 'b': a->broker = optarg; break;
        case 'L': a->is_local = true; break;
        case 'w':
        case 's':
            if (sl_cli_count("bench", name, optarg, 1, 256, &v) < 0)
                return -1;
            *(c == 'w' ? &a->local.workers : &a->local.slots) = (uint32_t)v;
            break;
        case 'c':
            if (sl_cli_cache_url(optarg, &a->cache_url) < 0)
                return -1;
            break;
        case 'n':
            if (sl_cli_count("bench", name, optarg, 1, 1000000, &v) < 0)
                return -1;
            a->bench.tasks = (uint32_t)v;
            break;
        case 'P':
            if (sl_cli_count("bench", name, optarg, 0, 1u << 20, &v) < 0)
                return -1;
            a->bench.payload_bytes = v;
            break;
        case 'N': a->bench.is_cached = false; break;
        case 'r':
            if (sl_cli_count("bench", name, optarg, 1, 1000000, &v) < 0)
                return -1;
            a->bench.rate = (double)v;
            break;
        case 'd':
            if (sl_duration_parse(optarg, &ms) < 0 || ms <= 0 || ms > 3600000) {
                fprintf(stderr,
                        "sluice bench: --duration '%s': give a duration from "
                        "1ms to 1h, e.g. 10s\n",
                        optarg);
                return -1;
            }
            a->bench.duration_s = (double)ms / 1000.0;
            break;
        case 'l': a->is_limits = false; break;
        case 'j': a->is_json = true; break;
        case 'q': a->is_quiet = true; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "sluice bench: give one workload\n");
        usage(stderr);
        return -1;
    }
    a->workload = argv[optind];
    bool is_known = !strcmp(a->workload, "all");
    for (size_t i = 0; sl_bench_workloads[i]; i++)
        is_known |= !strcmp(a->workload, sl_bench_workloads[i]);
    if (!is_known) {
        fprintf(stderr,
                "sluice bench: unknown workload '%s' (fanout, cached, chain, "
                "latency, rate, wide, spawn, spawncached or all)\n",
                a->workload);
        return -1;
    }
    if (!strcmp(a->workload, "chain") && a->bench.tasks > 10000) {
        fprintf(stderr,
                "sluice bench: --tasks %u: a chain is a flow of at most 10000 "
                "nodes\n",
                a->bench.tasks);
        return -1;
    }
    return 0;
}

/* ---- limits and ratios -----------------------------------------------------
 */

typedef struct {
    double value;     /* the limit, in the result's unit */
    const char *what; /* what makes it */
} limit_t;

static bool
has_cache(const sl_bench_limits_t *l, const bench_args_t *a)
{
    return a->bench.is_cached && l->get_batch_rate > 0;
}

/* The best a workload could do on this host, from the measured limits. */
static limit_t
limit_of(const char *workload, const sl_bench_limits_t *l,
         const bench_args_t *a, double fanout_rate)
{
    double cache_us =
        has_cache(l, a) ? 1e6 / l->get_rate + 1e6 / l->set_rate : 0;
    if (!strcmp(workload, "wide") && fanout_rate > 0)
        return (limit_t){fanout_rate, "fanout's rate in this run"};
    if (!strcmp(workload, "fanout") || !strcmp(workload, "wide"))
        return has_cache(l, a) ? (limit_t){1 / (1 / l->get_batch_rate +
                                                1 / l->set_batch_rate),
                                           "a pipelined GET and SET per task"}
                               : (limit_t){l->zmq_rate, "pipelined ZeroMQ "
                                                        "messages"};
    if (!strcmp(workload, "spawn"))
        return (limit_t){l->spawn_rate, "posix_spawn+wait of /bin/echo, a "
                                        "thread per core"};
    if (!strcmp(workload, "spawncached"))
        workload = "cached"; /* a hit starts no process */
    if (!strcmp(workload, "cached"))
        return has_cache(l, a) ? (limit_t){l->get_batch_rate, "a pipelined GET "
                                                              "per task"}
                               : (limit_t){l->zmq_rate, "pipelined ZeroMQ "
                                                        "messages"};
    if (!strcmp(workload, "chain"))
        return (limit_t){l->zmq_rtt_us + cache_us, has_cache(l, a) ? "a round "
                                                                     "trip, a "
                                                                     "GET and "
                                                                     "a SET"
                                                                   : "a ZeroMQ "
                                                                     "round "
                                                                     "trip"};
    return (limit_t){2 * l->zmq_rtt_us + cache_us, has_cache(l, a) ? "2 round "
                                                                     "trips, a "
                                                                     "GET and "
                                                                     "a SET"
                                                                   : "2 ZeroMQ "
                                                                     "round "
                                                                     "trips"};
}

/* ---- output -----------------------------------------------------------------
 */

static void
host_of(char *out, size_t size)
{
    struct utsname u;
    char model[128] = "";
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    if (f)
        fclose(f);
    uname(&u);
    snprintf(out, size, "%s, %ld cores, %s, Linux %s", u.nodename,
             sysconf(_SC_NPROCESSORS_ONLN), *model ? model : u.machine,
             u.release);
}

static void
print_limits(const sl_bench_limits_t *l)
{
    printf("limits: ZeroMQ over %s: round trip %.0f us, %.0f k "
           "request-replies/s pipelined\n",
           l->transport, l->zmq_rtt_us, l->zmq_rate / 1e3);
    if (*l->cache_url)
        printf("        cache %s: GET %.0f k/s, %.0f k/s pipelined; SET %.0f "
               "k/s, %.0f k/s pipelined\n",
               l->cache_url, l->get_rate / 1e3, l->get_batch_rate / 1e3,
               l->set_rate / 1e3, l->set_batch_rate / 1e3);
    else if (*l->cache_error)
        printf("        cache not measured: %s\n", l->cache_error);
    else
        printf("        cache not measured: give --cache URL\n");
    printf("        processes: %.0f /bin/echo started and reaped per second "
           "(%u threads)\n",
           l->spawn_rate, l->spawn_threads);
}

#define BINS 48

/* Adds a bucket's count to the power-of-two bin (in us) its top falls in. */
static void
bin_bucket(uint64_t low, uint64_t high, uint64_t count, void *ctx)
{
    uint64_t *bins = ctx, us = high / 1000;
    (void)low;
    int b = 0;
    while (b < BINS - 1 && ((uint64_t)1 << b) <= us)
        b++;
    bins[b] += count;
}

/* One line per power of two of microseconds that holds values. */
static void
print_histogram(const sl_hist_t *h)
{
    uint64_t bins[BINS] = {0}, total = sl_hist_count(h);
    sl_hist_each(h, bin_bucket, bins);
    for (int b = 0; b < BINS; b++) {
        if (!bins[b])
            continue;
        int width = (int)(bins[b] * 50 / (total ? total : 1));
        printf("%9s < %9llu us %9llu %.*s\n", "", 1ULL << b,
               (unsigned long long)bins[b], width > 0 ? width : 1,
               "##################################################");
    }
}

static double
ratio_of(const sl_bench_result_t *r, const limit_t *lim)
{
    if (lim->value <= 0)
        return 0;
    if (!strcmp(r->workload, "chain"))
        return r->per_task_us / lim->value;
    if (r->latency)
        return (double)sl_hist_quantile(r->latency, 0.5) / 1e3 / lim->value;
    return r->tasks_per_s / lim->value;
}

static void
print_row(const sl_bench_result_t *r, const limit_t *lim, bool has_limits)
{
    char result[96];
    const sl_hist_t *h = r->latency;
    bool is_time = h || !strcmp(r->workload, "chain");
    if (!strcmp(r->workload, "chain"))
        snprintf(result, sizeof result, "%.0f us per task", r->per_task_us);
    else if (h)
        snprintf(result, sizeof result, "p50 %.0f us, p99 %.0f, p99.9 %.0f",
                 sl_hist_quantile(h, 0.5) / 1e3,
                 sl_hist_quantile(h, 0.99) / 1e3,
                 sl_hist_quantile(h, 0.999) / 1e3);
    else
        snprintf(result, sizeof result, "%.1f k tasks/s", r->tasks_per_s / 1e3);
    printf("%-11s %8llu %8.3f s  %-36s", r->workload,
           (unsigned long long)r->tasks, r->seconds, result);
    if (has_limits && lim->value > 0 && is_time)
        printf(" %6.2fx  %.0f us: %s", ratio_of(r, lim), lim->value, lim->what);
    else if (has_limits && lim->value > 0)
        printf(" %6.1f%%  %.0f k/s: %s", 100 * ratio_of(r, lim),
               lim->value / 1e3, lim->what);
    printf("\n");
    if (!strcmp(r->workload, "wide"))
        printf("%9s broker memory +%.1f MiB: %.0f bytes per task\n", "",
               r->rss_growth_bytes / 1048576.0, r->rss_per_task_bytes);
    if (r->uncached)
        printf("%9s between them, the same with cache: none: p50 %.0f us, p99 "
               "%.0f; the cache adds %.0f us at p50\n",
               "", sl_hist_quantile(r->uncached, 0.5) / 1e3,
               sl_hist_quantile(r->uncached, 0.99) / 1e3,
               ((double)sl_hist_quantile(h, 0.5) -
                (double)sl_hist_quantile(r->uncached, 0.5)) /
                   1e3);
    if (!strcmp(r->workload, "rate"))
        printf("%9s sent %.0f runs/s, %llu without a result; sent late by "
               "the bench: p99.9 %.0f us, max %.0f; slowest run meant for "
               "%.3f s\n",
               "", r->sent_per_s, (unsigned long long)r->lost,
               sl_hist_quantile(r->late, 0.999) / 1e3,
               sl_hist_max(r->late) / 1e3, r->worst_at_s);
    if (h)
        print_histogram(h);
}

static sl_value_t *
limits_value(const sl_bench_limits_t *l)
{
    sl_value_t *m = sl_value_new_map();
    sl_value_put_string(m, "transport", l->transport);
    sl_value_t *v = sl_value_new_double(l->zmq_rtt_us);
    sl_value_put(m, "zmq_rtt_us", &v);
    v = sl_value_new_double(l->zmq_rate);
    sl_value_put(m, "zmq_rate_per_s", &v);
    sl_value_put_string(m, "cache_url", l->cache_url);
    sl_value_put_string(m, "cache_error", l->cache_error);
    const double rates[] = {l->get_rate, l->get_batch_rate, l->set_rate,
                            l->set_batch_rate, l->spawn_rate};
    const char *names[] = {"get_per_s", "get_pipelined_per_s", "set_per_s",
                           "set_pipelined_per_s", "spawn_per_s"};
    for (int i = 0; i < 5; i++) {
        v = sl_value_new_double(rates[i]);
        sl_value_put(m, names[i], &v);
    }
    return m;
}

static void
put_float(sl_value_t *m, const char *key, double d)
{
    sl_value_t *v = sl_value_new_double(d);
    sl_value_put(m, key, &v);
}

static sl_value_t *
result_value(const sl_bench_result_t *r, const limit_t *lim, const char *error)
{
    sl_value_t *m = sl_value_new_map();
    sl_value_put_string(m, "workload", r->workload);
    sl_value_put_string(m, "error", error);
    sl_value_put_int(m, "tasks", (int64_t)r->tasks);
    put_float(m, "seconds", r->seconds);
    put_float(m, "tasks_per_s", r->tasks_per_s);
    if (!strcmp(r->workload, "chain"))
        put_float(m, "per_task_us", r->per_task_us);
    if (r->latency) {
        const double qs[] = {0.5, 0.9, 0.99, 0.999};
        const char *names[] = {"p50_us", "p90_us", "p99_us", "p999_us"};
        for (int i = 0; i < 4; i++)
            put_float(m, names[i],
                      (double)sl_hist_quantile(r->latency, qs[i]) / 1e3);
        put_float(m, "max_us", (double)sl_hist_max(r->latency) / 1e3);
    }
    if (r->uncached) {
        put_float(m, "uncached_p50_us",
                  (double)sl_hist_quantile(r->uncached, 0.5) / 1e3);
        put_float(m, "uncached_p99_us",
                  (double)sl_hist_quantile(r->uncached, 0.99) / 1e3);
    }
    if (!strcmp(r->workload, "rate")) {
        put_float(m, "sent_per_s", r->sent_per_s);
        sl_value_put_int(m, "lost", (int64_t)r->lost);
        put_float(m, "late_p999_us",
                  (double)sl_hist_quantile(r->late, 0.999) / 1e3);
        put_float(m, "late_max_us", (double)sl_hist_max(r->late) / 1e3);
        put_float(m, "worst_at_s", r->worst_at_s);
    }
    if (!strcmp(r->workload, "wide")) {
        sl_value_put_int(m, "rss_growth_bytes", (int64_t)r->rss_growth_bytes);
        put_float(m, "rss_per_task_bytes", r->rss_per_task_bytes);
    }
    put_float(m, "limit", lim->value);
    sl_value_put_string(m, "limit_is", lim->what);
    put_float(m, "ratio", ratio_of(r, lim));
    return m;
}

/* ---- the command
 * ------------------------------------------------------------- */

static void
make_salt(char *out, size_t size)
{
    snprintf(out, size, "b%llx%x", (unsigned long long)zclock_usecs(),
             (unsigned)getpid());
}

/* Runs the workloads; adds their figures to results; returns the exit code. */
static int
run_workloads(bench_args_t *a, sl_client_t *client,
              const sl_bench_limits_t *limits, sl_value_t *results)
{
    int code = SL_EXIT_OK;
    double fanout_rate = 0;
    bool is_all = !strcmp(a->workload, "all");
    for (size_t i = 0; sl_bench_workloads[i]; i++) {
        const char *w = sl_bench_workloads[i];
        if (!is_all && strcmp(w, a->workload))
            continue;
        sl_bench_result_t r;
        sl_error_t err = {0};
        int rc = sl_bench_run(client, w, &a->bench, &r, &err);
        if (!strcmp(w, "fanout") && rc == 0)
            fanout_rate = r.tasks_per_s;
        limit_t lim = limit_of(w, limits, a, fanout_rate);
        if (!limits->zmq_rate && strcmp(w, "wide"))
            lim.value = 0;
        if (rc < 0) {
            fprintf(stderr, "sluice bench: %s: %s\n", w, err.msg);
            code = SL_EXIT_FAILED;
        }
        if (a->is_json) {
            sl_value_t *v = result_value(&r, &lim, rc < 0 ? err.msg : "");
            sl_value_push(results, &v);
        } else if (rc == 0) {
            print_row(&r, &lim, a->is_limits);
        }
        fflush(stdout);
        sl_bench_result_fini(&r);
    }
    return code;
}

static int
bench(bench_args_t *a, const char *endpoint, const char *cache_url)
{
    sl_error_t err = {0};
    sl_bench_limits_t limits = {0};
    char host[384];
    host_of(host, sizeof host);
    if (a->is_limits &&
        sl_bench_limits_measure(endpoint, cache_url, a->bench.payload_bytes,
                                &limits, &err) < 0)
        fprintf(stderr, "sluice bench: %s\n", err.msg);
    sl_client_t *client = sl_client_new(endpoint, &err);
    if (!client) {
        fprintf(stderr, "sluice bench: %s\n", err.msg);
        return SL_EXIT_CONNECT;
    }
    char shown[512];
    sl_cache_redact(cache_url ? cache_url : "", shown, sizeof shown);
    if (!a->is_json) {
        printf("sluice bench %s: broker %s, payload %zu B, cache %s\nhost: "
               "%s\n",
               a->workload, endpoint, a->bench.payload_bytes,
               !a->bench.is_cached ? "none"
               : cache_url         ? shown
                                   : "the workers'",
               host);
        if (a->is_limits)
            print_limits(&limits);
        printf("%-11s %8s %10s  %-36s %7s  %s\n", "WORKLOAD", "N", "TIME",
               "RESULT", "RATIO", a->is_limits ? "LIMIT" : "");
    }
    sl_value_t *results = sl_value_new_list();
    int code = run_workloads(a, client, &limits, results);
    if (a->is_json) {
        sl_value_t *doc = sl_value_new_map(), *v;
        sl_value_put_string(doc, "host", host);
        sl_value_put_string(doc, "broker", endpoint);
        sl_value_put_string(doc, "cache", shown);
        sl_value_put_int(doc, "payload_bytes", (int64_t)a->bench.payload_bytes);
        v = sl_value_new_bool(a->bench.is_cached);
        sl_value_put(doc, "cached", &v);
        if (a->is_limits) {
            v = limits_value(&limits);
            sl_value_put(doc, "limits", &v);
        }
        sl_value_put(doc, "results", &results);
        sl_cli_print_json(stdout, doc);
        sl_value_destroy(&doc);
    }
    sl_value_destroy(&results);
    sl_client_destroy(&client);
    return code;
}

int
sl_cli_bench(int argc, char **argv)
{
    bench_args_t a = {0};
    sl_error_t err = {0};
    char salt[64];
    int rc = parse_args(&a, argc, argv);
    if (rc != 0)
        return rc > 0 ? SL_EXIT_OK : SL_EXIT_USAGE;
    zsys_init();
    make_salt(salt, sizeof salt);
    a.bench.salt = salt;
    a.bench.is_live = !a.is_quiet && !a.is_json && isatty(STDERR_FILENO);
    a.bench.cache_url = a.cache_url;
    if (!a.is_local)
        return bench(&a, a.broker, a.cache_url);
    sl_log_set_level(SL_LOG_WARN);
    a.local.cache_url = a.cache_url;
    sl_local_t *local = sl_local_start(&a.local, &err);
    if (!local) {
        fprintf(stderr, "sluice bench: %s\n", err.msg);
        return SL_EXIT_CONNECT;
    }
    a.bench.is_local = true;
    a.bench.cache_url = NULL; /* the local workers use theirs */
    int code = bench(&a, sl_local_endpoint(local), sl_local_cache_url(local));
    sl_local_stop(&local);
    return code;
}
