/* client/bench.c: the workloads of `sluice bench`. Every task is the
 * builtin `echo` (or `add` for chain) with this bench's salt in its args,
 * so its cache keys are its own: a fresh bench misses, a repeat hits. */
#include "bench.h"

#include "error.h"
#include "flow.h"
#include "procmem.h"
#include "trace.h"

#include <sluice/flow.h>

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_TTL_MS      600000 /* the bench's cache entries last 10 min */
#define POLL_MS           250    /* status polls for progress and memory */
#define ACCEPT_TIMEOUT_MS 10000
#define RESULT_TIMEOUT_MS 120000 /* silence that ends a workload */

const char *const sl_bench_workloads[] = {"fanout",  "cached",      "chain",
                                          "latency", "rate",        "wide",
                                          "spawn",   "spawncached", NULL};

uint32_t
sl_bench_default_tasks(const char *workload)
{
    if (!strcmp(workload, "chain"))
        return 1000;
    if (!strcmp(workload, "latency"))
        return 2000;
    if (!strcmp(workload, "wide"))
        return 1000000;
    if (!strncmp(workload, "spawn", 5))
        return 2000;
    return 10000;
}

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- flows --------------------------------------------------------------- */

/* echo [x, salt, padding]: x is "$x" (mapped) or "$params.x". */
static sl_value_t *
echo_args(const sl_bench_options_t *opt, const char *x)
{
    sl_value_t *args = sl_value_new_list(), *v = sl_value_new_string(x);
    sl_value_push(args, &v);
    v = sl_value_new_string(opt->salt);
    sl_value_push(args, &v);
    if (opt->payload_bytes) {
        char *pad = malloc(opt->payload_bytes + 1);
        if (pad) {
            memset(pad, 'p', opt->payload_bytes);
            pad[opt->payload_bytes] = '\0';
        }
        v = sl_value_new_string(pad ? pad : "");
        sl_value_push(args, &v);
        free(pad);
    }
    return args;
}

static int
set_node(sl_flow_t *f, const char *node, const sl_bench_options_t *opt,
         sl_error_t *err)
{
    sl_node_options_t o = sl_node_options_default();
    o.cache = opt->is_cached ? SL_CACHE_INPUTS : SL_CACHE_NONE;
    o.ttl_ms = BENCH_TTL_MS;
    return sl_flow_set_options(f, node, &o, err);
}

static sl_flow_t *
finish_flow(sl_flow_t *f, int rc, const sl_bench_options_t *opt,
            sl_error_t *err)
{
    if (rc == 0)
        rc = sl_flow_set_cache(f, opt->cache_url, "bench", BENCH_TTL_MS, err);
    if (rc == 0)
        rc = sl_flow_validate(f, err);
    if (rc < 0)
        sl_flow_destroy(&f);
    return f;
}

/* The list 0, 1, ..., n-1. */
static sl_value_t *
range_list(uint32_t n)
{
    sl_value_t *xs = sl_value_new_list();
    for (uint32_t i = 0; i < n; i++) {
        sl_value_t *x = sl_value_new_int(i);
        sl_value_push(xs, &x);
    }
    return xs;
}

/* One node t: echo over x in 0..n-1. */
/* A flow of one node t: task called with *args (consumed), mapped over
 * x in 0..n-1. rc: an error already met making args (then just cleans). */
static sl_flow_t *
map_flow(const char *name, const char *task, sl_value_t **args, int rc,
         const sl_bench_options_t *opt, uint32_t n, sl_error_t *err)
{
    sl_flow_t *f = sl_flow_new(name);
    sl_value_t *xs = range_list(n);
    if (rc == 0)
        rc = sl_flow_add(f, "t", task, args, err);
    if (rc == 0)
        rc = sl_flow_add_map(f, "t", "x", &xs, err);
    sl_value_destroy(&xs);
    sl_value_destroy(args);
    if (rc == 0)
        rc = set_node(f, "t", opt, err);
    return finish_flow(f, rc, opt, err);
}

static sl_flow_t *
fanout_flow(const sl_bench_options_t *opt, uint32_t n, sl_error_t *err)
{
    sl_value_t *args = echo_args(opt, "$x");
    return map_flow("bench-fanout", "echo", &args, 0, opt, n, err);
}

/* spawn: one program task per x in 0..n-1, `/bin/echo x` (its output, x,
 * is the result), with the bench's salt in its environment so that its
 * keys are this bench's. */
static sl_flow_t *
spawn_flow(const sl_bench_options_t *opt, uint32_t n, sl_error_t *err)
{
    sl_value_t *call = NULL;
    char text[256];
    snprintf(text, sizeof text,
             "[[/bin/echo, $x], [], {BENCH_SALT: '%s'}, json]", opt->salt);
    int rc = sl_flow_parse_value(text, &call, err);
    return map_flow("bench-spawn", "exec@1", &call, rc, opt, n, err);
}

/* wide: t = add(x, k) over x in 0..n-1, then total = sum($t): the one
 * number checked is n(n-1)/2 + n k, so that a million results need not
 * travel back to be checked (they would pass the message cap). */
static sl_flow_t *
wide_flow(const sl_bench_options_t *opt, uint32_t n, int64_t k, sl_error_t *err)
{
    sl_flow_t *f = sl_flow_new("bench-wide");
    sl_value_t *args = sl_value_new_list(), *xs = range_list(n);
    sl_value_t *x = sl_value_new_string("$x"), *kv = sl_value_new_int(k);
    sl_value_push(args, &x);
    sl_value_push(args, &kv);
    int rc = sl_flow_add(f, "t", "add", &args, err);
    if (rc == 0)
        rc = sl_flow_add_map(f, "t", "x", &xs, err);
    sl_value_destroy(&xs);
    sl_value_t *sum_args = sl_value_new_list(), *ref = sl_value_new_string("$"
                                                                           "t");
    sl_value_push(sum_args, &ref);
    if (rc == 0)
        rc = sl_flow_add(f, "total", "sum", &sum_args, err);
    sl_value_destroy(&sum_args);
    if (rc == 0)
        rc = set_node(f, "t", opt, err);
    if (rc == 0)
        rc = set_node(f, "total", opt, err);
    return finish_flow(f, rc, opt, err);
}

/* c0 = add(salt number, 0); c<i> = add($c<i-1>, 1). */
static sl_flow_t *
chain_flow(const sl_bench_options_t *opt, uint32_t n, int64_t start,
           sl_error_t *err)
{
    sl_flow_t *f = sl_flow_new("bench-chain");
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        char node[32], prev[34];
        snprintf(node, sizeof node, "c%u", i);
        snprintf(prev, sizeof prev, "$c%u", i ? i - 1 : 0);
        sl_value_t *args = sl_value_new_list();
        sl_value_t *a = i ? sl_value_new_string(prev) : sl_value_new_int(start);
        sl_value_t *b = sl_value_new_int(i ? 1 : 0);
        sl_value_push(args, &a);
        sl_value_push(args, &b);
        rc = sl_flow_add(f, node, "add", &args, err);
        if (rc == 0)
            rc = set_node(f, node, opt, err);
    }
    return finish_flow(f, rc, opt, err);
}

/* One node t: echo of $params.x. */
static sl_flow_t *
one_task_flow(const sl_bench_options_t *opt, sl_error_t *err)
{
    sl_flow_t *f = sl_flow_new("bench-one");
    sl_value_t *args = echo_args(opt, "$params.x"), *zero = sl_value_new_int(0);
    int rc = sl_flow_add(f, "t", "echo", &args, err);
    if (rc == 0)
        rc = sl_flow_set_param(f, "x", &zero, err);
    sl_value_destroy(&zero);
    if (rc == 0)
        rc = set_node(f, "t", opt, err);
    return finish_flow(f, rc, opt, err);
}

/* ---- running --------------------------------------------------------------
 */

typedef struct {
    uint64_t rss_before; /* broker memory when the run was sent */
    uint64_t rss_max;    /* the most seen while it ran */
} memory_t;

static uint64_t
broker_rss(sl_client_t *c, const sl_bench_options_t *opt)
{
    uint64_t rss = 0, peak;
    sl_value_t *status = NULL;
    if (opt->is_local) {
        sl_procmem_read(&rss, &peak);
    } else if (sl_client_status(c, "-", 2000, &status, NULL) == 0) {
        const sl_value_t *b = sl_value_lookup(status, "broker");
        rss = (uint64_t)sl_value_get_int(sl_value_lookup(b, "rss_bytes"));
    }
    sl_value_destroy(&status);
    return rss;
}

static void
draw(const char *label, uint64_t done, uint64_t total)
{
    int width = 30, filled = total ? (int)(done * (uint64_t)width / total) : 0;
    fprintf(stderr, "\r%-8s [%.*s%*s] %llu/%llu", label, filled,
            "##############################", width - filled, "",
            (unsigned long long)done, (unsigned long long)total);
    fflush(stderr);
}

static void
poll_run(sl_client_t *c, const char *run_id, const char *label,
         const sl_bench_options_t *opt, memory_t *mem)
{
    if (mem) {
        uint64_t rss = broker_rss(c, opt);
        mem->rss_max = rss > mem->rss_max ? rss : mem->rss_max;
    }
    sl_value_t *status = NULL;
    if (opt->is_live && sl_client_status(c, run_id, 2000, &status, NULL) == 0) {
        const sl_value_t *run = sl_value_at(sl_value_lookup(status, "runs"), 0);
        draw(label, (uint64_t)sl_value_get_int(sl_value_lookup(run, "done")),
             (uint64_t)sl_value_get_int(sl_value_lookup(run, "tasks")));
    }
    sl_value_destroy(&status);
}

/* Submits one bench run: unlisted, so that bench runs never push the
 * user's own out of the runs a broker keeps for status. */
static int
submit(sl_client_t *c, const sl_flow_t *flow, const sl_value_t *params,
       char **run_id, sl_error_t *err)
{
    sl_submit_options_t opt = {.params = params,
                               .timeout_ms = ACCEPT_TIMEOUT_MS,
                               .is_unlisted = true};
    return sl_client_submit_with(c, flow, &opt, run_id, err);
}

/* Sends one bench run without waiting for its Accepted (rate: a run not
 * yet accepted must not hold back the next one's send). */
static int
send_run(sl_client_t *c, const sl_flow_t *flow, const sl_value_t *params,
         sl_error_t *err)
{
    sl_submit_options_t opt = {.params = params,
                               .is_unlisted = true,
                               .is_async = true};
    char *run_id = NULL;
    return sl_client_submit_with(c, flow, &opt, &run_id, err);
}

/* Submits flow and waits for its result (returned, or NULL with err). */
static sl_value_t *
run_flow(sl_client_t *c, const sl_flow_t *flow, const char *label,
         const sl_bench_options_t *opt, memory_t *mem, sl_error_t *err)
{
    char *run_id = NULL;
    sl_value_t *result = NULL;
    sl_event_t e;
    if (mem)
        mem->rss_max = mem->rss_before = broker_rss(c, opt);
    if (submit(c, flow, NULL, &run_id, err) < 0)
        return NULL;
    int64_t heard = zclock_mono();
    while (!result) {
        int rc = sl_client_wait(c, &e, &result, POLL_MS, err);
        if (rc == 0 &&
            strcmp(sl_value_get_string(sl_value_lookup(result, "run_id"), NULL),
                   run_id)) {
            sl_value_destroy(&result); /* an earlier run's: not ours */
            continue;
        }
        if (rc == SL_ETIMEDOUT && zclock_mono() - heard > RESULT_TIMEOUT_MS) {
            sl_error_set(err, SL_ETIMEDOUT, "run %s: no result in %d s", run_id,
                         RESULT_TIMEOUT_MS / 1000);
            break;
        }
        if (rc != 0 && rc != 1 && rc != SL_ETIMEDOUT)
            break;
        if (rc == 1)
            heard = zclock_mono();
        if (rc == SL_ETIMEDOUT && (opt->is_live || mem))
            poll_run(c, run_id, label, opt, mem);
    }
    if (opt->is_live)
        fprintf(stderr, "\r%60s\r", "");
    free(run_id);
    return result;
}

static const sl_value_t *
only_node(const sl_value_t *result, const char *name)
{
    const sl_value_t *nodes = sl_value_lookup(result, "nodes");
    for (size_t i = 0; i < sl_value_count(nodes); i++) {
        const sl_value_t *n = sl_value_at(nodes, i);
        if (!strcmp(sl_value_get_string(sl_value_lookup(n, "name"), NULL),
                    name))
            return n;
    }
    return NULL;
}

static const char *
str_of(const sl_value_t *map, const char *key)
{
    const char *s = sl_value_get_string(sl_value_lookup(map, key), NULL);
    return s ? s : "";
}

/* The run is done, node t has n tasks, want_cached of them from the cache,
 * and element i of its value is echo's [i, salt, ...] (unless the broker
 * left the values out: over the message cap, only the counts are checked). */
static int
check_fanout(const sl_value_t *result, uint32_t n, bool want_all_cached,
             bool is_spawn, const sl_bench_options_t *opt, sl_error_t *err)
{
    const sl_value_t *t = only_node(result, "t");
    const sl_value_t *value = sl_value_lookup(t, "value");
    if (strcmp(str_of(result, "state"), "done"))
        return sl_error_set(err, SL_ETASK, "the run failed: %s",
                            str_of(t, "error"));
    bool is_dropped = sl_value_type(value) == SL_NULL; /* over the cap */
    if (sl_value_get_int(sl_value_lookup(t, "tasks")) != n ||
        (!is_dropped && sl_value_count(value) != n))
        return sl_error_set(err, SL_ETASK, "%zu results for %u tasks",
                            sl_value_count(value), n);
    int64_t cached = sl_value_get_int(sl_value_lookup(t, "cached"));
    if (opt->is_cached && want_all_cached && cached != n)
        return sl_error_set(err, SL_ETASK,
                            "%lld of %u tasks came from the cache; all should "
                            "have",
                            (long long)cached, n);
    if (opt->is_cached && !want_all_cached && cached != 0)
        return sl_error_set(err, SL_ETASK,
                            "%lld of %u tasks came from the cache; none should "
                            "have",
                            (long long)cached, n);
    for (uint32_t i = 0; i < n && !is_dropped; i++) {
        const sl_value_t *e = sl_value_at(value, i);
        bool is_right =
            is_spawn ? sl_value_type(e) == SL_INT && sl_value_get_int(e) == i
                     : sl_value_get_int(sl_value_at(e, 0)) == i &&
                           !strcmp(sl_value_get_string(sl_value_at(e, 1), NULL),
                                   opt->salt);
        if (!is_right)
            return sl_error_set(err, SL_ETASK, "result %u is wrong", i);
    }
    return 0;
}

static void
set_throughput(sl_bench_result_t *out, uint64_t tasks, uint64_t t0)
{
    out->tasks = tasks;
    out->seconds = (double)(now_ns() - t0) / 1e9;
    out->tasks_per_s = out->seconds > 0 ? (double)tasks / out->seconds : 0;
}

static int64_t
salt_number(void)
{
    return (int64_t)(now_ns() % 1000003u);
}

/* wide: a fanout of many, the broker's memory watched while it runs. */
static int
bench_wide(sl_client_t *c, const sl_bench_options_t *opt, uint32_t n,
           sl_bench_result_t *out, sl_error_t *err)
{
    memory_t mem = {0};
    int64_t k = salt_number();
    sl_flow_t *f = wide_flow(opt, n, k, err);
    if (!f)
        return SL_EINVAL;
    uint64_t t0 = now_ns();
    sl_value_t *result = run_flow(c, f, "wide", opt, &mem, err);
    set_throughput(out, n, t0);
    if (mem.rss_max > mem.rss_before) {
        out->rss_growth_bytes = mem.rss_max - mem.rss_before;
        out->rss_per_task_bytes = (double)out->rss_growth_bytes / n;
    }
    const sl_value_t *t = only_node(result, "t");
    int64_t want = (int64_t)n * (n - 1) / 2 + (int64_t)n * k;
    int rc =
        !result ? SL_ETASK
        : strcmp(str_of(result, "state"), "done")
            ? sl_error_set(err, SL_ETASK, "the run failed: %s",
                           str_of(t, "error"))
        : sl_value_get_int(sl_value_lookup(t, "tasks")) != n
            ? sl_error_set(err, SL_ETASK, "%lld tasks for %u",
                           (long long)sl_value_get_int(sl_value_lookup(t, "task"
                                                                          "s")),
                           n)
        : sl_value_get_int(sl_value_lookup(only_node(result, "total"), "valu"
                                                                       "e")) !=
                want
            ? sl_error_set(err, SL_ETASK, "the total of the results is wrong")
            : 0;
    sl_value_destroy(&result);
    sl_flow_destroy(&f);
    return rc;
}

/* fanout (misses), cached (the same flow again: hits); spawn and
 * spawncached, the same with a program per task. */
static int
bench_fanout(sl_client_t *c, const char *workload,
             const sl_bench_options_t *opt, uint32_t n, sl_bench_result_t *out,
             sl_error_t *err)
{
    bool is_spawn = !strncmp(workload, "spawn", 5);
    bool is_cached_run = !strcmp(workload, is_spawn ? "spawncached" : "cached");
    sl_flow_t *f =
        is_spawn ? spawn_flow(opt, n, err) : fanout_flow(opt, n, err);
    sl_value_t *result = NULL;
    int rc = f ? 0 : SL_EINVAL;
    if (rc == 0 && is_cached_run) { /* the first run fills the cache */
        result = run_flow(c, f, "warm-up", opt, NULL, err);
        rc = result ? check_fanout(result, n, false, is_spawn, opt, err)
                    : SL_ETASK;
        sl_value_destroy(&result);
    }
    uint64_t t0 = now_ns();
    if (rc == 0) {
        result = run_flow(c, f, workload, opt, NULL, err);
        rc = result ? check_fanout(result, n, is_cached_run, is_spawn, opt, err)
                    : SL_ETASK;
    }
    set_throughput(out, n, t0);
    sl_value_destroy(&result);
    sl_flow_destroy(&f);
    return rc;
}

static int
bench_chain(sl_client_t *c, const sl_bench_options_t *opt, uint32_t n,
            sl_bench_result_t *out, sl_error_t *err)
{
    int64_t start = salt_number() * 1000000; /* a miss */
    sl_flow_t *f = chain_flow(opt, n, start, err);
    if (!f)
        return SL_EINVAL;
    uint64_t t0 = now_ns();
    sl_value_t *result = run_flow(c, f, "chain", opt, NULL, err);
    set_throughput(out, n, t0);
    out->per_task_us = out->seconds * 1e6 / n;
    char last[32];
    snprintf(last, sizeof last, "c%u", n - 1);
    const sl_value_t *end = only_node(result, last);
    int rc = !result ? SL_ETASK
             : strcmp(str_of(result, "state"), "done")
                 ? sl_error_set(err, SL_ETASK, "the chain failed")
             : sl_value_get_int(sl_value_lookup(end, "value")) !=
                     start + (int64_t)n - 1
                 ? sl_error_set(err, SL_ETASK, "the chain's end is wrong")
                 : 0;
    sl_value_destroy(&result);
    sl_flow_destroy(&f);
    return rc;
}

/* The result of a one-task run with x = i is echo's [i, salt, ...]. */
static bool
is_right(const sl_value_t *result, int64_t *x)
{
    const sl_value_t *v = sl_value_lookup(only_node(result, "t"), "value");
    *x = sl_value_get_int(sl_value_at(v, 0));
    return !strcmp(str_of(result, "state"), "done") && sl_value_count(v) >= 2;
}

static sl_value_t *
params_x(int64_t x)
{
    sl_value_t *p = sl_value_new_map(), *v = sl_value_new_int(x);
    sl_value_put(p, "x", &v);
    return p;
}

/* One latency run of f with x: its time from submit to result into h. */
static int
time_one_run(sl_client_t *c, const sl_flow_t *f, int64_t x, sl_hist_t *h,
             sl_error_t *err)
{
    sl_value_t *params = params_x(x), *result = NULL;
    char *run_id = NULL;
    sl_event_t e;
    SL_TRACE("client.submit");
    uint64_t sent = now_ns();
    int rc = submit(c, f, params, &run_id, err);
    while (rc == 0 && !result)
        rc = sl_client_wait(c, &e, &result, RESULT_TIMEOUT_MS, err) < 0
                 ? SL_ETASK
                 : 0;
    int64_t got = -1;
    if (rc == 0 && (!is_right(result, &got) || got != x))
        rc = sl_error_set(err, SL_ETASK, "run %s: wrong result", run_id);
    if (rc == 0)
        sl_hist_add(h, now_ns() - sent);
    SL_TRACE("client.result");
    sl_value_destroy(&result);
    sl_value_destroy(&params);
    free(run_id);
    return rc;
}

/* latency: runs one after another, each timed from submit to result. With
 * the cache on, each run is followed by one of the same flow with `cache:
 * none`, timed apart: what the cache adds is then measured in the same
 * minute, on a host whose speed drifts by half between runs. */
static int
bench_latency(sl_client_t *c, const sl_bench_options_t *opt, uint32_t n,
              sl_bench_result_t *out, sl_error_t *err)
{
    sl_bench_options_t none = *opt;
    none.is_cached = false;
    sl_flow_t *f = one_task_flow(opt, err);
    sl_flow_t *twin = opt->is_cached && f ? one_task_flow(&none, err) : NULL;
    int rc = f && (twin || !opt->is_cached) ? 0 : SL_EINVAL;
    out->latency = sl_hist_new();
    out->uncached = twin ? sl_hist_new() : NULL;
    uint64_t t0 = now_ns();
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        rc = time_one_run(c, f, i, out->latency, err);
        if (rc == 0 && twin)
            rc = time_one_run(c, twin, i, out->uncached, err);
        if (opt->is_live && i % 64 == 0)
            draw("latency", i, n);
    }
    set_throughput(out, sl_hist_count(out->latency), t0);
    sl_flow_destroy(&f);
    sl_flow_destroy(&twin);
    return rc;
}

/* Records a finished run's latency from when it was meant to be sent,
 * and when the slowest so far was meant to be sent. */
static void
take_result(sl_bench_result_t *out, sl_value_t **result,
            const uint64_t *intended, size_t sent)
{
    int64_t x = -1;
    if (is_right(*result, &x) && x >= 0 && (size_t)x < sent) {
        uint64_t ns = now_ns() - intended[x];
        SL_TRACE("client.result");
        if (ns > sl_hist_max(out->latency))
            out->worst_at_s = (double)(intended[x] - intended[0]) / 1e9;
        sl_hist_add(out->latency, ns);
    }
    sl_value_destroy(result);
}

/* Takes the results that have come (waiting up to timeout_ms for one):
 * 0, or SL_EREJECTED if the broker refused a run. */
static int
take_results(sl_client_t *c, sl_bench_result_t *out, const uint64_t *intended,
             size_t sent, int timeout_ms, sl_error_t *err)
{
    sl_event_t e;
    sl_value_t *result = NULL;
    sl_error_t why = {0};
    int got;
    while ((got = sl_client_wait(c, &e, &result, timeout_ms, &why)) >= 0) {
        if (result)
            take_result(out, &result, intended, sent);
        timeout_ms = 0;
    }
    return got == SL_EREJECTED ? sl_error_set(err, got, "%s", why.msg) : 0;
}

/* rate: runs sent open-loop at a fixed rate, each timed from the moment it
 * was meant to be sent, so a stall counts against every run it delays. A
 * send never waits for the broker's Accepted (a slow run would hold back
 * the ones after it). Results are looked for at least every 50 us, which
 * bounds how late one can be seen. */
static int
bench_rate(sl_client_t *c, const sl_bench_options_t *opt,
           sl_bench_result_t *out, sl_error_t *err)
{
    size_t total = (size_t)(opt->rate * opt->duration_s);
    uint64_t gap_ns = (uint64_t)(1e9 / opt->rate);
    uint64_t *intended = calloc(total + 1, sizeof *intended);
    sl_flow_t *f = one_task_flow(opt, err);
    int rc = f && intended ? 0 : SL_EINVAL;
    size_t sent = 0;
    sl_event_t e;
    sl_value_t *result = NULL;
    out->latency = sl_hist_new();
    out->late = sl_hist_new();
    uint64_t t0 = now_ns();
    while (rc == 0 && sent < total) {
        uint64_t due = t0 + sent * gap_ns, now = now_ns();
        if (due >= now + 1000000) { /* take results until a send is due */
            rc = take_results(c, out, intended, sent,
                              (int)((due - now) / 1000000), err);
            continue;
        }
        if (due > now) { /* under a millisecond: look every 50 us */
            uint64_t left = due - now;
            struct timespec ts = {0, (long)(left < 50000 ? left : 50000)};
            nanosleep(&ts, NULL);
            rc = take_results(c, out, intended, sent, 0, err);
            if (rc != 0 || now_ns() < due)
                continue;
        }
        sl_value_t *params = params_x((int64_t)sent);
        intended[sent] = due;
        sl_hist_add(out->late, now_ns() - due); /* the bench's own delay */
        SL_TRACE("client.submit");
        rc = send_run(c, f, params, err);
        sent += rc == 0;
        sl_value_destroy(&params);
        if (rc == 0)
            rc = take_results(c, out, intended, sent, 0, err);
        if (opt->is_live && sent % 64 == 0)
            draw("rate", sent, total);
    }
    out->sent_per_s = (double)sent * 1e9 / (double)(now_ns() - t0);
    int64_t quiet_since = zclock_mono();
    while (sl_hist_count(out->latency) < sent &&
           zclock_mono() - quiet_since < 10000) {
        if (sl_client_wait(c, &e, &result, 1000, NULL) == 0) {
            take_result(out, &result, intended, sent);
            quiet_since = zclock_mono();
        }
    }
    set_throughput(out, sl_hist_count(out->latency), t0);
    out->lost = sent - sl_hist_count(out->latency);
    if (rc == 0 && out->lost)
        rc =
            sl_error_set(err, SL_ETASK, "%llu of %zu runs gave no right result",
                         (unsigned long long)out->lost, sent);
    free(intended);
    sl_flow_destroy(&f);
    return rc;
}

int
sl_bench_run(sl_client_t *client, const char *workload,
             const sl_bench_options_t *opt, sl_bench_result_t *out,
             sl_error_t *err)
{
    uint32_t n = opt->tasks ? opt->tasks : sl_bench_default_tasks(workload);
    char salt[128];
    sl_bench_options_t own = *opt; /* each workload's keys are its own */
    snprintf(salt, sizeof salt, "%s-%s", opt->salt, workload);
    own.salt = salt;
    opt = &own;
    memset(out, 0, sizeof *out);
    snprintf(out->workload, sizeof out->workload, "%s", workload);
    if (!strcmp(workload, "fanout") || !strcmp(workload, "cached") ||
        !strncmp(workload, "spawn", 5))
        return bench_fanout(client, workload, opt, n, out, err);
    if (!strcmp(workload, "wide"))
        return bench_wide(client, opt, n, out, err);
    if (!strcmp(workload, "chain"))
        return bench_chain(client, opt, n, out, err);
    if (!strcmp(workload, "latency"))
        return bench_latency(client, opt, n, out, err);
    if (!strcmp(workload, "rate"))
        return bench_rate(client, opt, out, err);
    return sl_error_set(err, SL_EINVAL,
                        "unknown workload '%s' (fanout, cached, chain, "
                        "latency, rate, wide, spawn, spawncached or all)",
                        workload);
}

void
sl_bench_result_fini(sl_bench_result_t *r)
{
    sl_hist_destroy(&r->latency);
    sl_hist_destroy(&r->uncached);
    sl_hist_destroy(&r->late);
}
