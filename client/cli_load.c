/* client/cli_load.c: `sluice load URL|SCENARIO.yaml`, an open-loop HTTP
 * load test (docs/LOAD.md). The scenario is checked here whole; then a
 * flow of one load@1 task per share goes to the broker (--local: one in
 * this process), each share sending requests k = w, w + n ... of the same
 * schedule at the same absolute times, and the shares' figures come back
 * and are merged exactly. A share that brings back nothing is named,
 * with the requests it owed. */
#include "cli.h"

#include "flow.h"
#include "http_request.h"
#include "load_report.h"
#include "load_spec.h"
#include "local.h"
#include "log.h"

#include <czmq.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THRESHOLDS 32
#define MAX_SHARES     4096
/* How far ahead of now the schedule starts: time for every share to
 * reach its worker. */
#define LEAD_LOCAL_MS   100
#define LEAD_CLUSTER_MS 1000
/* --local, cancelled: how long the workers get to let go of their shares
 * before they are stopped. */
#define IDLE_WAIT_MS 2000

typedef struct {
    const char *target; /* URL or scenario file */
    const char *broker, *key_file, *broker_key_file, *csv;
    bool is_local, is_json, is_quiet;
    uint32_t shares, workers;
    sl_value_t *top;     /* flags for the scenario's top level */
    sl_value_t *request; /* --method, --header, --body (URL only) */
    sl_load_threshold_t thresholds[MAX_THRESHOLDS];
    size_t threshold_count;
} load_args_t;

static volatile sig_atomic_t interrupted;

static void
on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: sluice load URL|SCENARIO.yaml [options]\n"
            "  an open-loop HTTP load test: requests go at their scheduled "
            "times\n  whatever the server does, and latency counts from "
            "then\n"
            "  --rate N           requests per second (a scenario's start "
            "rate)\n"
            "  --duration D       how long, such as 30s or 2m\n"
            "  --max-rate N       never faster than this, whatever the "
            "scenario says\n"
            "  --connections N    at most N connections in all (default "
            "%d)\n"
            "  --timeout D        a request with no full response by then "
            "fails\n                     (default 10s)\n"
            "  --method M, --header 'Name: value', --body TEXT   (with a "
            "URL)\n"
            "  --insecure         do not check TLS certificates\n"
            "  --threshold T      exit 5 unless T holds (repeatable): "
            "p99<200ms,\n                     max<=1s, mean<50ms, "
            "errors<0.1%%, errors<10, late<1%%,\n                     "
            "rate>=990\n"
            "  --json             the figures as JSON on stdout\n"
            "  --csv FILE         the timeline, second by second\n"
            "  --local            a broker and --workers N workers (default "
            "1) in\n                     this process, sending only to the "
            "scenario's hosts;\n                     one share per core "
            "unless --shares N\n"
            "  --broker ENDPOINT  else a cluster (default $SLUICE_BROKER or "
            "%s):\n                     one share per worker that runs "
            "load@1 (sluice-worker\n                     --http-allow), or "
            "--shares N\n"
            "  --key FILE, --broker-key FILE   CURVE, as `sluice run`\n"
            "  --quiet            no live line on the terminal\n"
            "exit: 0 done, 1 a share failed, 2 bad arguments, 3 no broker "
            "or worker,\n      4 cancelled, 5 a threshold broken\n",
            SL_LOAD_DEFAULT_CONNECTIONS, SL_CLI_BROKER);
}

/* text as the int or double it spells, for --rate and --max-rate. */
static sl_value_t *
number_value(const char *flag, const char *text)
{
    char *end;
    double d = strtod(text, &end);
    if (end == text || *end || !(d >= 0)) {
        fprintf(stderr, "sluice load: %s '%s': must be a number >= 0\n", flag,
                text);
        return NULL;
    }
    return d == (double)(int64_t)d ? sl_value_new_int((int64_t)d)
                                   : sl_value_new_double(d);
}

static int
put_flag(sl_value_t *map, const char *key, sl_value_t *v)
{
    return v && sl_value_put(map, key, &v) == 0 ? 0 : -1;
}

static int
add_header(load_args_t *a, const char *line)
{
    const char *colon = strchr(line, ':');
    if (!colon || colon == line) {
        fprintf(stderr, "sluice load: --header '%s': must be 'Name: value'\n",
                line);
        return -1;
    }
    sl_value_t *headers = (sl_value_t *)sl_value_lookup(a->request, "headers");
    if (!headers) {
        sl_value_t *m = sl_value_new_map();
        if (put_flag(a->request, "headers", m) < 0)
            return -1;
        headers = (sl_value_t *)sl_value_lookup(a->request, "headers");
    }
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(colon - line), line);
    const char *value = colon + 1;
    while (*value == ' ')
        value++;
    return sl_value_put_string(headers, name, value) == 0 ? 0 : -1;
}

/* 0, 1 after --help, -1 on a bad argument (said). */
static int
parse_args(load_args_t *a, int argc, char **argv)
{
    static const struct option longs[] =
        {{"rate", required_argument, NULL, 'r'},
         {"duration", required_argument, NULL, 'd'},
         {"max-rate", required_argument, NULL, 'm'},
         {"connections", required_argument, NULL, 'c'},
         {"timeout", required_argument, NULL, 't'},
         {"method", required_argument, NULL, 'M'},
         {"header", required_argument, NULL, 'H'},
         {"body", required_argument, NULL, 'B'},
         {"insecure", no_argument, NULL, 'k'},
         {"threshold", required_argument, NULL, 'T'},
         {"json", no_argument, NULL, 'j'},
         {"csv", required_argument, NULL, 'C'},
         {"local", no_argument, NULL, 'l'},
         {"workers", required_argument, NULL, 'w'},
         {"shares", required_argument, NULL, 's'},
         {"broker", required_argument, NULL, 'b'},
         {"key", required_argument, NULL, 'K'},
         {"broker-key", required_argument, NULL, 'P'},
         {"quiet", no_argument, NULL, 'q'},
         {"help", no_argument, NULL, 'h'},
         {NULL, 0, NULL, 0}};
    uint64_t n;
    sl_error_t err = {0};
    a->broker = sl_cli_broker();
    a->top = sl_value_new_map();
    a->request = sl_value_new_map();
    if (!a->top || !a->request)
        return -1;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'r':
            rc = put_flag(a->top, "rate", number_value("--rate", optarg));
            break;
        case 'm':
            rc = put_flag(a->top, "max_rate",
                          number_value("--max-rate", optarg));
            break;
        case 'd': rc = sl_value_put_string(a->top, "duration", optarg); break;
        case 't': rc = sl_value_put_string(a->top, "timeout", optarg); break;
        case 'c':
            rc = sl_cli_count("load", "--connections", optarg, 1,
                              SL_LOAD_MAX_CONNECTIONS, &n);
            if (rc == 0)
                rc = sl_value_put_int(a->top, "connections", (int64_t)n);
            break;
        case 'k':
            rc = put_flag(a->top, "insecure", sl_value_new_bool(true));
            break;
        case 'M': rc = sl_value_put_string(a->request, "method", optarg); break;
        case 'B': rc = sl_value_put_string(a->request, "body", optarg); break;
        case 'H': rc = add_header(a, optarg); break;
        case 'T':
            if (a->threshold_count == MAX_THRESHOLDS) {
                fprintf(stderr, "sluice load: at most %d --threshold\n",
                        MAX_THRESHOLDS);
                return -1;
            }
            if (sl_load_threshold_parse(optarg,
                                        &a->thresholds[a->threshold_count++],
                                        &err) < 0) {
                fprintf(stderr, "sluice load: %s\n", err.msg);
                return -1;
            }
            break;
        case 'j': a->is_json = true; break;
        case 'C': a->csv = optarg; break;
        case 'l': a->is_local = true; break;
        case 'w':
        case 's':
            rc = sl_cli_count("load", c == 'w' ? "--workers" : "--shares",
                              optarg, 1, c == 'w' ? 64 : MAX_SHARES, &n);
            *(c == 'w' ? &a->workers : &a->shares) = (uint32_t)n;
            break;
        case 'b': a->broker = optarg; break;
        case 'K': a->key_file = optarg; break;
        case 'P': a->broker_key_file = optarg; break;
        case 'q': a->is_quiet = true; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
        if (rc < 0)
            return -1;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "sluice load: give one URL or scenario file\n");
        usage(stderr);
        return -1;
    }
    if (a->workers && !a->is_local) {
        fprintf(stderr, "sluice load: --workers goes with --local (on a "
                        "cluster, --shares N)\n");
        return -1;
    }
    a->target = argv[optind];
    return 0;
}

static bool
is_url(const char *s)
{
    return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

/* The scenario: the file, or the URL with --method, --header and --body;
 * then the flags over its top level. NULL after saying why. */
static sl_value_t *
scenario_value(load_args_t *a)
{
    sl_error_t err = {0};
    sl_value_t *v = NULL;
    if (is_url(a->target)) {
        sl_value_t *requests = sl_value_new_list(), *q = a->request;
        a->request = NULL;
        v = sl_value_new_map();
        if (!v || !requests || sl_value_put_string(q, "url", a->target) < 0 ||
            sl_value_push(requests, &q) < 0 ||
            sl_value_put(v, "requests", &requests) < 0) {
            sl_value_destroy(&requests);
            sl_value_destroy(&v);
            fprintf(stderr, "sluice load: out of memory\n");
            return NULL;
        }
    } else if (strstr(a->target, "://")) {
        fprintf(stderr,
                "sluice load: %s: a URL must start with http:// or "
                "https://\n",
                a->target);
        return NULL;
    } else if (sl_value_count(a->request)) {
        fprintf(stderr, "sluice load: --method, --header and --body go with "
                        "a URL; a scenario file names them per request\n");
        return NULL;
    } else if (sl_yaml_load_value(a->target, &v, &err) < 0) {
        fprintf(stderr, "sluice load: %s\n", err.msg);
        return NULL;
    } else if (sl_value_type(v) != SL_MAP) {
        fprintf(stderr, "sluice load: %s: a scenario is a map (docs/LOAD.md)\n",
                a->target);
        sl_value_destroy(&v);
        return NULL;
    }
    for (size_t i = 0; i < sl_value_count(a->top); i++) {
        sl_value_t *f = sl_value_copy(sl_value_at(a->top, i));
        if (!f || sl_value_put(v, sl_value_key_at(a->top, i), &f) < 0) {
            sl_value_destroy(&v);
            return NULL;
        }
    }
    return v;
}

/* A cancelled test's length: from its start to now, at most its
 * schedule's. */
static double
ran_for(int64_t start_us, double seconds)
{
    double ran = (double)(zclock_time() * 1000 - start_us) / 1e6;
    return ran < 0 ? 0 : ran < seconds ? ran : seconds;
}

/* --local, cancelled: the broker answered at once, but the worker may
 * not have read the cancel yet. Stopping it now would drain it, and a
 * share in hand would run to its schedule's end: wait (up to
 * IDLE_WAIT_MS) until the workers hold nothing. */
static void
wait_idle(sl_client_t *c)
{
    int64_t deadline = zclock_mono() + IDLE_WAIT_MS;
    while (zclock_mono() < deadline) {
        sl_value_t *status = NULL;
        int64_t held = 0;
        if (sl_client_status(c, NULL, IDLE_WAIT_MS, &status, NULL) < 0)
            return;
        const sl_value_t *workers = sl_value_lookup(status, "workers");
        for (size_t i = 0; i < sl_value_count(workers); i++)
            held += sl_cli_int(sl_value_at(workers, i), "in_flight");
        sl_value_destroy(&status);
        if (held == 0)
            return;
        zclock_sleep(5);
    }
}

/* The workers of the broker that run load@1; -1 after saying why. */
static int
count_load_workers(sl_client_t *c, const char *broker)
{
    sl_value_t *status = NULL;
    sl_error_t err = {0};
    if (sl_client_status(c, NULL, SL_CLI_TIMEOUT_MS, &status, &err) < 0) {
        fprintf(stderr, "sluice load: %s: %s\n", broker, err.msg);
        return -1;
    }
    int n = 0;
    const sl_value_t *workers = sl_value_lookup(status, "workers");
    for (size_t i = 0; i < sl_value_count(workers); i++) {
        const sl_value_t *tasks = sl_value_lookup(sl_value_at(workers, i), "tas"
                                                                           "k"
                                                                           "s");
        for (size_t t = 0; t < sl_value_count(tasks); t++)
            n += !strcmp(sl_value_get_string(sl_value_at(tasks, t), NULL), "loa"
                                                                           "d@"
                                                                           "1");
    }
    sl_value_destroy(&status);
    return n;
}

/* One load@1 node per share, all due from start_us. */
static sl_flow_t *
build_flow(const sl_value_t *scenario, uint32_t shares, int64_t start_us,
           sl_error_t *err)
{
    sl_flow_t *flow = sl_flow_new("load");
    sl_node_options_t opt = sl_node_options_default();
    opt.cache = SL_CACHE_NONE;
    opt.retries = 0; /* a share sent again would send its requests twice */
    for (uint32_t i = 0; flow && i < shares; i++) {
        char name[32];
        snprintf(name, sizeof name, "share-%u", i);
        sl_value_t *args = sl_value_new_list(), *s = sl_value_copy(scenario),
                   *w = sl_value_new_int(i), *n = sl_value_new_int(shares),
                   *t = sl_value_new_int(start_us);
        sl_value_push(args, &s);
        sl_value_push(args, &w);
        sl_value_push(args, &n);
        sl_value_push(args, &t);
        if (!args || sl_value_count(args) != 4 ||
            sl_flow_add(flow, name, "load", &args, err) < 0 ||
            sl_flow_set_options(flow, name, &opt, err) < 0)
            sl_flow_destroy(&flow);
        sl_value_destroy(&args);
    }
    return flow;
}

typedef struct {
    char worker[128]; /* where the share runs */
    sl_value_t *last; /* its last report (Progress), owned; NULL: none */
} share_state_t;

/* Every share's last report merged into s (initialised here). */
static int
merge_reports(const share_state_t *shares, uint32_t count, sl_load_stats_t *s)
{
    if (sl_load_stats_init(s) < 0)
        return -1;
    for (uint32_t i = 0; i < count; i++)
        if (shares[i].last)
            sl_load_stats_merge_value(s, shares[i].last, NULL);
    return 0;
}

/* The live line: what the shares reported so far. */
static void
show_live(const share_state_t *shares, uint32_t count, double elapsed,
          double seconds)
{
    sl_load_stats_t s;
    if (merge_reports(shares, count, &s) < 0)
        return;
    uint32_t n = sl_load_stats_seconds_used(&s);
    uint64_t last = n >= 2 ? s.seconds[n - 2].answered : 0; /* a whole one */
    fprintf(stderr,
            "\rload: %.0f s of %.0f s, %llu sent, %llu/s answered, %llu "
            "failed, p50 %.2f ms, p99 %.2f ms   ",
            elapsed, seconds, (unsigned long long)s.sent,
            (unsigned long long)last,
            (unsigned long long)sl_load_stats_failed(&s),
            (double)sl_hist_quantile(s.latency_us, 0.5) / 1000,
            (double)sl_hist_quantile(s.latency_us, 0.99) / 1000);
    sl_load_stats_fini(&s);
}

/* Follows the run, keeping each share's last report; cancels the run on
 * Ctrl-C. The result, or NULL. */
static sl_value_t *
follow(sl_client_t *c, const char *run_id, share_state_t *shares,
       uint32_t count, double seconds, bool is_live, bool *cancelled)
{
    sl_value_t *result = NULL;
    int64_t start = zclock_mono(), last_draw = 0;
    uint32_t interrupts = 0;
    for (;;) {
        sl_event_t e;
        sl_error_t err = {0};
        if (interrupted && !*cancelled) {
            sl_value_t *status = NULL;
            *cancelled = true;
            if (sl_client_cancel(c, run_id, SL_CLI_TIMEOUT_MS, &status, &err) <
                0)
                fprintf(stderr, "sluice load: cancel: %s\n", err.msg);
            sl_value_destroy(&status);
        }
        int rc = sl_client_wait(c, &e, &result, 100, &err);
        if (rc == 0)
            break;
        unsigned i = 0;
        if (rc == 1 && sscanf(e.node, "share-%u", &i) == 1 && i < count) {
            /* where its first attempt ran (a retry fails at once) */
            if (e.kind == SL_EVENT_STARTED && !*shares[i].worker)
                snprintf(shares[i].worker, sizeof shares[i].worker, "%s",
                         e.worker_id);
            if (e.kind == SL_EVENT_PROGRESS && e.value) {
                sl_value_destroy(&shares[i].last);
                shares[i].last = sl_value_copy(e.value);
            }
        } else if (rc < 0 && rc != SL_ETIMEDOUT &&
                   !(interrupted && interrupts++ < 3)) {
            fprintf(stderr, "sluice load: %s\n", err.msg);
            return NULL; /* (a wait the signal broke goes on) */
        }
        if (is_live && zclock_mono() - last_draw >= 500) {
            show_live(shares, count, (double)(zclock_mono() - start) / 1000,
                      seconds);
            last_draw = zclock_mono();
        }
    }
    if (is_live)
        fprintf(stderr, "\r%*s\r", 120, "");
    return result;
}

/* Merges each share's figures into stats: its result, else its last
 * report (a share cancelled or lost mid-test). A share that failed other
 * than by the user's cancel goes into lost. Returns how many did. */
static size_t
gather(const sl_value_t *result, const sl_load_spec_t *spec,
       const share_state_t *shares, uint32_t count, bool is_cancelled,
       sl_load_stats_t *stats, sl_load_lost_t *lost)
{
    const sl_value_t *nodes = sl_value_lookup(result, "nodes");
    size_t n = 0;
    for (uint32_t i = 0; i < count; i++) {
        const sl_value_t *node = sl_value_at(nodes, i);
        sl_error_t err = {0};
        const char *state = sl_cli_str(node, "state");
        if (!strcmp(state, "done") &&
            sl_load_stats_merge_value(stats, sl_value_lookup(node, "value"),
                                      &err) == 0)
            continue;
        uint64_t scheduled = sl_arrival_share(&spec->schedule, i, count);
        if (!shares[i].last ||
            sl_load_stats_merge_value(stats, shares[i].last, NULL) < 0)
            stats->scheduled += scheduled; /* nothing heard from it */
        if (is_cancelled)
            continue;
        sl_load_lost_t *l = &lost[n++];
        *l = (sl_load_lost_t){.share = i, .scheduled = scheduled};
        snprintf(l->worker, sizeof l->worker, "%s", shares[i].worker);
        snprintf(l->error, sizeof l->error, "%s",
                 err.code                     ? err.msg
                 : *sl_cli_str(node, "error") ? sl_cli_str(node, "error")
                                              : state);
        l->has_report = shares[i].last != NULL;
    }
    return n;
}

static int
run(load_args_t *a, const sl_value_t *scenario, const sl_load_spec_t *spec,
    const char *endpoint)
{
    sl_error_t err = {0};
    sl_client_t *c =
        sl_client_new_curve(endpoint, a->key_file, a->broker_key_file, &err);
    if (!c) {
        fprintf(stderr, "sluice load: %s\n", err.msg);
        return SL_EXIT_CONNECT;
    }
    uint32_t shares = a->shares;
    if (!shares) {
        int n = count_load_workers(c, endpoint);
        if (n <= 0) {
            if (n == 0)
                fprintf(stderr,
                        "sluice load: no worker of %s runs load@1: start "
                        "workers with --http-allow HOST:PORT\n",
                        endpoint);
            sl_client_destroy(&c);
            return SL_EXIT_CONNECT;
        }
        shares = (uint32_t)n;
    }
    int64_t start_us = zclock_time() * 1000 +
                       (a->is_local ? LEAD_LOCAL_MS : LEAD_CLUSTER_MS) * 1000;
    sl_flow_t *flow = build_flow(scenario, shares, start_us, &err);
    share_state_t *state = calloc(shares, sizeof *state);
    sl_load_lost_t *lost = calloc(shares, sizeof *lost);
    sl_load_stats_t stats;
    char *run_id = NULL;
    bool cancelled = false;
    int code = SL_EXIT_FAILED;
    sl_submit_options_t opt = {.want_events = true,
                               .timeout_ms = SL_CLI_TIMEOUT_MS,
                               .worker_wait_ms = SL_CLI_TIMEOUT_MS,
                               .is_unlisted = false};
    if (!flow || !state || !lost || sl_load_stats_init(&stats) < 0) {
        fprintf(stderr, "sluice load: %s\n",
                err.code ? err.msg : "out of memory");
    } else if (sl_client_submit_with(c, flow, &opt, &run_id, &err) < 0) {
        fprintf(stderr, "sluice load: %s\n", err.msg);
        code = SL_EXIT_CONNECT;
        sl_load_stats_fini(&stats);
    } else {
        double seconds = (double)sl_arrival_length_ns(&spec->schedule) / 1e9;
        sl_value_t *result =
            follow(c, run_id, state, shares, seconds,
                   !a->is_quiet && !a->is_json && isatty(STDERR_FILENO),
                   &cancelled);
        cancelled = cancelled ||
                    (result && !strcmp(sl_cli_str(result, "state"), "cancelle"
                                                                    "d"));
        size_t lost_count = result ? gather(result, spec, state, shares,
                                            cancelled, &stats, lost)
                                   : 0;
        sl_load_report_t r = {.target = a->target,
                              .spec = spec,
                              .shares = shares,
                              .seconds = cancelled ? ran_for(start_us, seconds)
                                                   : seconds,
                              .stats = &stats,
                              .lost = lost,
                              .lost_count = lost_count,
                              .thresholds = a->thresholds,
                              .threshold_count = a->threshold_count,
                              .is_cancelled = cancelled};
        if (a->is_json) {
            sl_value_t *v = sl_load_report_value(&r);
            sl_cli_print_json(stdout, v);
            sl_value_destroy(&v);
        } else {
            sl_load_report_print(stdout, &r);
        }
        if (a->csv && sl_load_report_csv(a->csv, &r) < 0)
            fprintf(stderr, "sluice load: --csv %s: %s\n", a->csv,
                    strerror(errno));
        code = !result                      ? SL_EXIT_CONNECT
               : cancelled                  ? SL_EXIT_CANCELLED
               : lost_count                 ? SL_EXIT_FAILED
               : !sl_load_report_passes(&r) ? SL_EXIT_THRESHOLD
                                            : SL_EXIT_OK;
        sl_value_destroy(&result);
        sl_load_stats_fini(&stats);
    }
    free(run_id);
    for (uint32_t i = 0; state && i < shares; i++)
        sl_value_destroy(&state[i].last);
    free(state);
    free(lost);
    sl_flow_destroy(&flow);
    if (a->is_local && cancelled)
        wait_idle(c);
    sl_client_destroy(&c);
    return code;
}

/* --local: this process's workers may send only to the scenario's
 * origins, as HOST:PORT rules. */
static sl_local_t *
start_local(const load_args_t *a, const sl_load_spec_t *spec)
{
    const char *origins[SL_LOAD_MAX_REQUESTS];
    size_t n = sl_load_origins(spec, origins, SL_LOAD_MAX_REQUESTS);
    char rules[SL_LOAD_MAX_REQUESTS][300];
    const char *allow[SL_LOAD_MAX_REQUESTS];
    for (size_t i = 0; i < n; i++) {
        if (!sl_http_origin_rule(origins[i], rules[i], sizeof rules[i])) {
            fprintf(stderr, "sluice load: %s: not a host and port\n",
                    origins[i]);
            return NULL;
        }
        allow[i] = rules[i];
    }
    sl_error_t err = {0};
    uint32_t workers = a->workers ? a->workers : 1;
    sl_local_options_t opt = {.workers = workers,
                              .slots =
                                  (a->shares ? a->shares : workers) / workers +
                                  1,
                              .http_allow = allow,
                              .http_allow_count = n};
    sl_local_t *l = sl_local_start(&opt, &err);
    if (!l)
        fprintf(stderr, "sluice load: %s\n", err.msg);
    return l;
}

int
sl_cli_load(int argc, char **argv)
{
    load_args_t a = {0};
    sl_load_spec_t spec = {0};
    sl_error_t err = {0};
    sl_local_t *local = NULL;
    sl_value_t *scenario = NULL;
    int code = SL_EXIT_USAGE;
    int rc = parse_args(&a, argc, argv);
    if (rc != 0) {
        code = rc > 0 ? SL_EXIT_OK : SL_EXIT_USAGE;
        goto out;
    }
    if (!(scenario = scenario_value(&a)))
        goto out;
    if (sl_load_spec_read(&spec, scenario, is_url(a.target) ? "load" : a.target,
                          &err) < 0) {
        fprintf(stderr, "sluice load: %s\n", err.msg);
        goto out;
    }
    zsys_init();
    zsys_handler_set(NULL);
    signal(SIGINT, on_interrupt);
    signal(SIGTERM, on_interrupt);
    if (a.is_local) {
        sl_log_set_level(SL_LOG_WARN);
        if (!a.shares) { /* as many as the cores, as a worker's slots */
            long cores = sysconf(_SC_NPROCESSORS_ONLN);
            a.shares = cores > 1 ? (uint32_t)cores : 1;
        }
        if (!(local = start_local(&a, &spec))) {
            code = SL_EXIT_CONNECT;
            goto out;
        }
    }
    code =
        run(&a, scenario, &spec, local ? sl_local_endpoint(local) : a.broker);
out:
    sl_local_stop(&local);
    sl_load_spec_fini(&spec);
    sl_value_destroy(&scenario);
    sl_value_destroy(&a.top);
    sl_value_destroy(&a.request);
    return code;
}
