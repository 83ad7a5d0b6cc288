/* client/cli_run.c: `sluice run FLOW.yaml`: load and check the flow, submit
 * it to a broker (or to one started in this process with --local), show
 * progress on a terminal, print the results, exit 0 only if every task
 * succeeded. */
#include "cli.h"

#include "cache.h"
#include "duration.h"
#include "flow.h"
#include "value.h"
#include "local.h"
#include "log.h"
#include "program.h"
#include "run_keys.h"

#include <czmq.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PLUGINS 64
#define MAX_EXEC    64
#define MAX_REFRESH 256

typedef struct {
    const char *broker;       /* --broker */
    bool is_local;            /* --local */
    sl_local_options_t local; /* --workers, --slots, --cache, --tasks */
    const char *plugins[MAX_PLUGINS];
    const char *exec_rules[MAX_EXEC]; /* --exec, for the local workers */
    const char *refresh[MAX_REFRESH]; /* --refresh NODE: recompute */
    size_t refresh_count;
    sl_value_t *params;      /* --param NAME=VALUE, a MAP, owned */
    bool is_json;            /* --json */
    bool is_quiet;           /* --quiet */
    bool is_events;          /* --events: one JSON line per event */
    int timeout_ms;          /* for the broker to accept */
    uint64_t worker_wait_ms; /* --wait-for-worker; 0: for ever */
    bool is_watch;           /* `sluice watch`, not `sluice run` */
} run_args_t;

typedef struct {
    uint32_t total;  /* tasks known */
    uint32_t done;   /* computed */
    uint32_t cached; /* from the cache */
    uint32_t failed; /* failed for good */
} progress_t;

static void
usage(FILE *out, bool is_watch)
{
    if (is_watch)
        fprintf(out,
                "usage: sluice watch RUN [options]\n  Follows a run submitted "
                "elsewhere (beside its submitter and any other\n  watcher) to "
                "its end, and prints its result as `sluice run` does.\n  "
                "--broker ENDPOINT   the broker's client socket (default %s)\n "
                " --json              print the result as JSON\n  --events     "
                "       print each task event as a JSON line first\n  --quiet  "
                "           no progress line\n  --timeout MS        wait this "
                "long for the broker to answer (default %d)\nExit: 0 done, 1 "
                "failed, 2 usage, 3 no broker, 4 cancelled.\n",
                sl_cli_broker(), SL_CLI_TIMEOUT_MS);
    else
        fprintf(out,
                "usage: sluice run FLOW.yaml [options]\n  --broker ENDPOINT   "
                "the broker's client socket (default %s)\n  --local            "
                " start a broker and workers in this process\n  --workers N    "
                "     with --local: workers (default 2)\n  --slots N           "
                "with --local: threads per worker (default 2)\n  --cache URL   "
                "      with --local: the cache (default: embedded\n            "
                "          LMDB under ~/.cache/sluice)\n  --tasks LIB.so      "
                "with --local: load a task plugin (repeatable)\n  --exec RULE  "
                "       with --local: run only the programs this rule\n       "
                "               allows (repeatable; default: any program)\n  "
                "--param NAME=VALUE  set a flow parameter (repeatable)\n  "
                "--refresh NODE      recompute NODE and overwrite its cache "
                "entries\n                      (repeatable)\n  "
                "--wait-for-worker DURATION  fail a task that no connected "
                "worker\n                      serves after this long "
                "(default: wait for ever,\n                      as workers "
                "may scale from zero)\n  --json              print the result "
                "as JSON\n  --events            print each task event as a "
                "JSON line first\n  --quiet             no progress line\n  "
                "--timeout MS        wait this long for the broker to accept "
                "(default %d)\nExit: 0 done, 1 failed, 2 usage, 3 no broker, 4 "
                "cancelled.\n",
                sl_cli_broker(), SL_CLI_TIMEOUT_MS);
}

static int
add_param(run_args_t *a, char *text)
{
    char *eq = strchr(text, '=');
    sl_error_t err = {0};
    sl_value_t *v = NULL;
    if (!eq || eq == text) {
        fprintf(stderr, "sluice run: --param '%s': write NAME=VALUE\n", text);
        return -1;
    }
    *eq = '\0';
    if (sl_flow_parse_value(eq + 1, &v, &err) < 0) {
        fprintf(stderr, "sluice run: --param %s: %s\n", text, err.msg);
        return -1;
    }
    return sl_value_put(a->params, text, &v);
}

/* 0 to go on, 1 after --help, -1 on a bad argument (already said). */
static int
parse_args(run_args_t *a, int argc, char **argv)
{
    static const struct option longs[] =
        {{"broker", required_argument, NULL, 'b'},
         {"local", no_argument, NULL, 'L'},
         {"workers", required_argument, NULL, 'w'},
         {"slots", required_argument, NULL, 's'},
         {"cache", required_argument, NULL, 'c'},
         {"tasks", required_argument, NULL, 't'},
         {"exec", required_argument, NULL, 'x'},
         {"refresh", required_argument, NULL, 'r'},
         {"param", required_argument, NULL, 'p'},
         {"json", no_argument, NULL, 'j'},
         {"quiet", no_argument, NULL, 'q'},
         {"events", no_argument, NULL, 'e'},
         {"timeout", required_argument, NULL, 'T'},
         {"wait-for-worker", required_argument, NULL, 'W'},
         {"help", no_argument, NULL, 'h'},
         {NULL, 0, NULL, 0}};
    int c;
    a->broker = sl_cli_broker();
    a->timeout_ms = SL_CLI_TIMEOUT_MS;
    a->local.plugins = a->plugins;
    a->local.exec_rules = a->exec_rules;
    a->params = sl_value_new_map();
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'b': a->broker = optarg; break;
        case 'L': a->is_local = true; break;
        case 'w':
        case 's': {
            uint64_t v;
            if (sl_cli_count("run", c == 'w' ? "--workers" : "--slots", optarg,
                             1, 256, &v) < 0)
                return -1;
            *(c == 'w' ? &a->local.workers : &a->local.slots) = (uint32_t)v;
            break;
        }
        case 'c':
            if (sl_cli_cache_url(optarg, &a->local.cache_url) < 0)
                return -1;
            break;
        case 't':
            if (a->local.plugin_count == MAX_PLUGINS)
                return -1;
            a->plugins[a->local.plugin_count++] = optarg;
            break;
        case 'r':
            if (a->refresh_count == MAX_REFRESH) {
                fprintf(stderr, "sluice run: at most %d --refresh\n",
                        MAX_REFRESH);
                return -1;
            }
            a->refresh[a->refresh_count++] = optarg;
            break;
        case 'x':
            if (a->local.exec_rule_count == MAX_EXEC) {
                fprintf(stderr, "sluice run: at most %d --exec\n", MAX_EXEC);
                return -1;
            }
            a->exec_rules[a->local.exec_rule_count++] = optarg;
            break;
        case 'p':
            if (add_param(a, optarg) < 0)
                return -1;
            break;
        case 'j': a->is_json = true; break;
        case 'q': a->is_quiet = true; break;
        case 'e': a->is_events = true; break;
        case 'T':
            if (sl_cli_timeout(argv[0], optarg, &a->timeout_ms) < 0)
                return -1;
            break;
        case 'W': {
            int64_t ms = 0;
            if (sl_duration_parse(optarg, &ms) < 0 || ms <= 0) {
                fprintf(stderr,
                        "sluice run: --wait-for-worker '%s': give a duration "
                        "such as 30s or 5m\n",
                        optarg);
                return -1;
            }
            a->worker_wait_ms = (uint64_t)ms;
            break;
        }
        case 'h': usage(stdout, a->is_watch); return 1;
        default: usage(stderr, a->is_watch); return -1;
        }
    }
    bool is_local_only = a->is_local || a->local.plugin_count ||
                         a->local.exec_rule_count || a->local.cache_url ||
                         a->local.workers || a->local.slots ||
                         a->worker_wait_ms || sl_value_count(a->params);
    if (a->is_watch && is_local_only) {
        fprintf(stderr, "sluice watch: only --broker, --json, --events, "
                        "--quiet and --timeout apply to a run submitted "
                        "elsewhere\n");
        return -1;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "sluice %s: give exactly one %s\n",
                a->is_watch ? "watch" : "run",
                a->is_watch ? "run id" : "flow file");
        usage(stderr, a->is_watch);
        return -1;
    }
    return 0;
}

static void
show_progress(const char *flow, const progress_t *p, bool is_final)
{
    fprintf(stderr, "\r%s: %u/%u done, %u cached, %u failed%s", flow,
            p->done + p->cached + p->failed, p->total, p->cached, p->failed,
            is_final ? "\n" : "");
    fflush(stderr);
}

static void
count_event(progress_t *p, const sl_event_t *e)
{
    p->total = e->total;
    p->done += e->kind == SL_EVENT_DONE;
    p->cached += e->kind == SL_EVENT_CACHED;
    p->failed += e->kind == SL_EVENT_FAILED && *e->worker_id;
}

static void
print_event(const sl_event_t *e)
{
    static const char *kinds[] = {"queued", "started", "done",
                                  "cached", "failed",  "waiting"};
    sl_value_t *m = sl_value_new_map();
    sl_value_put_string(m, "event", kinds[e->kind % 6]);
    sl_value_put_string(m, "run_id", e->run_id);
    sl_value_put_string(m, "node", e->node);
    sl_value_put_int(m, "index", e->index);
    sl_value_put_string(m, "worker", e->worker_id);
    sl_value_put_string(m, "error", e->error);
    sl_value_put_string(m, "cache_error", e->cache_error);
    sl_value_put_int(m, "duration_us", (int64_t)e->duration_us);
    sl_cli_print_json(stdout, m);
    sl_value_destroy(&m);
}

/* The run's time as the broker measured it (the same for every client
 * that follows the run), else as this client saw it. */
static double
run_ms(const sl_value_t *result, uint64_t elapsed_us)
{
    long long ms = sl_cli_int(result, "duration_ms");
    return ms > 0 ? (double)ms : (double)elapsed_us / 1000.0;
}

static void
print_table(const sl_value_t *result, uint64_t elapsed_us)
{
    const sl_value_t *nodes = sl_value_lookup(result, "nodes");
    long long tasks = 0, cached = 0, failed = 0;
    printf("%-20s %-8s %6s %6s %6s  %s\n", "NODE", "STATE", "TASKS", "CACHED",
           "FAILED", "RESULT");
    for (size_t i = 0; i < sl_value_count(nodes); i++) {
        const sl_value_t *n = sl_value_at(nodes, i);
        const char *error = sl_cli_str(n, "error");
        char *brief = sl_cli_brief(sl_value_lookup(n, "value"), 60);
        printf("%-20s %-8s %6lld %6lld %6lld  %s\n", sl_cli_str(n, "name"),
               sl_cli_str(n, "state"), sl_cli_int(n, "tasks"),
               sl_cli_int(n, "cached"), sl_cli_int(n, "failed"),
               *error  ? error
               : brief ? brief
                       : "");
        free(brief);
        tasks += sl_cli_int(n, "tasks");
        cached += sl_cli_int(n, "cached");
        failed += sl_cli_int(n, "failed");
        if (sl_cli_int(n, "cache_errors"))
            printf("%-20s cache error on %lld tasks (computed, not cached): "
                   "%s\n",
                   "", sl_cli_int(n, "cache_errors"),
                   sl_cli_str(n, "cache_error"));
    }
    printf("run %s %s in %.0f ms: %lld tasks, %lld cached, %lld failed\n",
           sl_cli_str(result, "run_id"), sl_cli_str(result, "state"),
           run_ms(result, elapsed_us), tasks, cached, failed);
}

/* Says once per node that its task waits for a worker: no connected worker
 * serves it (yet). */
static void
say_waiting(zhashx_t *said, const char *label, const sl_event_t *e)
{
    if (!said || zhashx_lookup(said, e->node))
        return;
    zhashx_insert(said, e->node, (void *)1);
    fprintf(stderr, "\r%s: node %s waits: %s\n", label, e->node,
            *e->error ? e->error : "no connected worker serves its task");
}

/* Follows the run to its end; returns the result map or NULL. */
static sl_value_t *
follow(sl_client_t *client, const char *label, bool is_live, bool is_events,
       sl_run_keys_t *keys)
{
    progress_t p = {0};
    sl_value_t *result = NULL;
    sl_event_t e;
    int64_t last_draw = 0;
    zhashx_t *said = zhashx_new();
    for (;;) {
        sl_error_t err = {0};
        int rc = sl_client_wait(client, &e, &result, 1000, &err);
        if (rc == 1) {
            count_event(&p, &e);
            sl_run_keys_note(keys, &e);
            if (is_events)
                print_event(&e);
            if (e.kind == SL_EVENT_WAITING)
                say_waiting(said, label, &e);
        } else if (rc == 0) {
            break;
        } else if (rc != SL_ETIMEDOUT) {
            fprintf(stderr, "sluice run: %s\n", err.msg);
            break;
        }
        if (is_live && zclock_mono() - last_draw >= 100) {
            show_progress(label, &p, false);
            last_draw = zclock_mono();
        }
    }
    if (is_live && result) {
        const sl_value_t *nodes = sl_value_lookup(result, "nodes");
        p = (progress_t){0};
        for (size_t i = 0; i < sl_value_count(nodes); i++) {
            const sl_value_t *n = sl_value_at(nodes, i);
            p.total += (uint32_t)sl_cli_int(n, "tasks");
            p.cached += (uint32_t)sl_cli_int(n, "cached");
            p.failed += (uint32_t)sl_cli_int(n, "failed");
        }
        p.done = p.total - p.cached - p.failed;
        show_progress(label, &p, true);
    }
    zhashx_destroy(&said);
    return result;
}

/* Prints the result and gives the exit code; destroys result. */
static int
report(const run_args_t *a, sl_value_t *result, int64_t start_us)
{
    const char *state = result ? sl_cli_str(result, "state") : "";
    int code = !result                       ? SL_EXIT_CONNECT /* said why */
               : !strcmp(state, "done")      ? SL_EXIT_OK
               : !strcmp(state, "cancelled") ? SL_EXIT_CANCELLED
                                             : SL_EXIT_FAILED;
    if (result && a->is_json)
        sl_cli_print_json(stdout, result);
    else if (result)
        print_table(result, (uint64_t)(zclock_usecs() - start_us));
    sl_value_destroy(&result);
    return code;
}

static int
submit_and_follow(const run_args_t *a, const sl_flow_t *flow,
                  const char *endpoint)
{
    sl_error_t err = {0};
    sl_client_t *client = sl_client_new(endpoint, &err);
    char *run_id = NULL;
    bool is_live = !a->is_quiet && isatty(STDERR_FILENO);
    int64_t start = zclock_usecs();
    sl_submit_options_t opt = {.params = a->params,
                               .want_events = true,
                               .timeout_ms = a->timeout_ms,
                               .worker_wait_ms = a->worker_wait_ms};
    int rc = client ? sl_client_submit_with(client, flow, &opt, &run_id, &err)
                    : err.code;
    if (rc < 0) {
        fprintf(stderr, "sluice run: %s\n", err.msg);
        sl_client_destroy(&client);
        return rc == SL_EREJECTED || rc == SL_EINVAL ? SL_EXIT_USAGE
                                                     : SL_EXIT_CONNECT;
    }
    if (is_live)
        fprintf(stderr, "%s: run %s accepted by %s\n", sl_flow_name(flow),
                run_id, endpoint);
    sl_run_keys_t *keys = sl_run_keys_new(flow->file);
    sl_value_t *result =
        follow(client, sl_flow_name(flow), is_live, a->is_events, keys);
    if (result && keys && sl_run_keys_save(keys, run_id, &err) < 0)
        fprintf(stderr, "sluice run: keys not kept for `cache explain`: %s\n",
                err.msg);
    sl_run_keys_destroy(&keys);
    int code = report(a, result, start);
    free(run_id);
    sl_client_destroy(&client);
    return code;
}

/* With --local no worker can join later: a node whose task none of the
 * local workers has would wait for ever. 0, or -1 after saying which. */
static int
check_local_tasks(const sl_local_t *local, const run_args_t *a,
                  const sl_flow_t *flow)
{
    for (size_t i = 0; i < flow->node_count; i++) {
        const sl_node_t *n = &flow->nodes[i];
        const char *program =
            !strcmp(n->task, SL_PROGRAM_TASK) ? sl_program_name(n->args) : NULL;
        if (program && *program != '$' && a->local.exec_rule_count &&
            !sl_program_rules_match((char *const *)a->exec_rules,
                                    a->local.exec_rule_count, SL_PROGRAM_PATH,
                                    program)) {
            fprintf(stderr,
                    "sluice run: %s: node '%s' runs program '%s', which no "
                    "--exec rule allows\n",
                    flow->file, n->name, program);
            return -1;
        }
        if (sl_local_serves(local, n->task, n->version))
            continue;
        fprintf(stderr,
                "sluice run: %s: node '%s' runs task '%s%s%.0u', which no "
                "local worker has: give the plugin that defines it with "
                "--tasks LIB.so\n",
                flow->file, n->name, n->task, n->version ? "@" : "",
                n->version);
        return -1;
    }
    return 0;
}

/* --refresh NODE: that node skips its lookup, computes and overwrites
 * its entries (as `refresh: true` in the file). An unknown node is an
 * error. */
static int
set_refresh(sl_flow_t *flow, const run_args_t *a, sl_error_t *err)
{
    for (size_t i = 0; i < a->refresh_count; i++) {
        ptrdiff_t n = sl_flow_index(flow, a->refresh[i]);
        if (n < 0)
            return sl_error_set(err, SL_EINVAL,
                                "--refresh %s: %s has no node '%s'",
                                a->refresh[i], flow->file, a->refresh[i]);
        sl_node_options_t o = flow->nodes[n].opt;
        o.refresh = true;
        int rc = sl_flow_set_options(flow, a->refresh[i], &o, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int
sl_cli_run(int argc, char **argv)
{
    run_args_t a = {0};
    sl_error_t err = {0};
    sl_flow_t *flow = NULL;
    sl_local_t *local = NULL;
    int code = SL_EXIT_USAGE;
    int rc = parse_args(&a, argc, argv);
    if (rc != 0) {
        code = rc > 0 ? SL_EXIT_OK : SL_EXIT_USAGE;
        goto out;
    }
    if (!(flow = sl_flow_load(argv[optind], &err)) ||
        set_refresh(flow, &a, &err) < 0) {
        fprintf(stderr, "sluice run: %s\n", err.msg);
        goto out; /* nothing was submitted */
    }
    zsys_init();
    if (a.is_local) {
        sl_log_set_level(SL_LOG_WARN);
        if (!(local = sl_local_start(&a.local, &err))) {
            fprintf(stderr, "sluice run: %s\n", err.msg);
            code = SL_EXIT_CONNECT;
            goto out;
        }
        if (check_local_tasks(local, &a, flow) < 0)
            goto out; /* SL_EXIT_USAGE: nothing was submitted */
        char shown[512];
        if (!a.is_quiet && isatty(STDERR_FILENO))
            fprintf(stderr, "local: %u workers, cache %s%s%s\n",
                    a.local.workers ? a.local.workers : 2,
                    sl_cache_redact(sl_local_cache_url(local), shown,
                                    sizeof shown),
                    flow->cache_url ? " (the flow names " : "",
                    flow->cache_url ? "another; --cache picks one)" : "");
    }
    code = submit_and_follow(&a, flow,
                             local ? sl_local_endpoint(local) : a.broker);
out:
    sl_local_stop(&local);
    sl_flow_destroy(&flow);
    sl_value_destroy(&a.params);
    return code;
}

int
sl_cli_watch(int argc, char **argv)
{
    run_args_t a = {.is_watch = true};
    sl_error_t err = {0};
    int rc = parse_args(&a, argc, argv);
    if (rc != 0) {
        sl_value_destroy(&a.params);
        return rc > 0 ? SL_EXIT_OK : SL_EXIT_USAGE;
    }
    const char *run_id = argv[optind];
    zsys_init();
    sl_client_t *client = sl_client_new(a.broker, &err);
    int64_t start = zclock_usecs();
    rc =
        client ? sl_client_watch(client, run_id, a.timeout_ms, &err) : err.code;
    int code;
    if (rc < 0) {
        fprintf(stderr, "sluice watch: %s\n", err.msg);
        code = rc == SL_ENOTFOUND ? SL_EXIT_FAILED : SL_EXIT_CONNECT;
    } else {
        bool is_live = !a.is_quiet && isatty(STDERR_FILENO);
        code = report(&a, follow(client, run_id, is_live, a.is_events, NULL),
                      start);
    }
    sl_client_destroy(&client);
    sl_value_destroy(&a.params);
    return code;
}
