/* client/cli_status.c: `sluice status [RUN]`: a broker's workers (their
 * tasks and slots), its queues (depth, and whether any worker can take
 * them) and its runs, once or redrawn live with --watch (its task counters
 * and their rates, as /metrics has them); and `sluice cancel RUN`, which
 * asks the same broker to end a run and prints what became of it. */
#include "cli.h"

#include <czmq.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The broker's counters, and their rates since prev (NULL: none yet) over
 * elapsed_s, for --watch. */
static void
print_counters(const sl_value_t *b, const sl_value_t *prev, double elapsed_s)
{
    static const char *counts[] = {"tasks_dispatched", "tasks_completed",
                                   "tasks_cached",     "tasks_shared",
                                   "tasks_failed",     "tasks_retried",
                                   "workers_lost"};
    printf("BROKER pid=%lld up=%llds rss=%lldMiB http=%s curve=%s\n",
           sl_cli_int(b, "pid"), sl_cli_int(b, "uptime_ms") / 1000,
           sl_cli_int(b, "rss_bytes") >> 20,
           *sl_cli_str(b, "http") ? sl_cli_str(b, "http") : "off",
           sl_value_get_bool(sl_value_lookup(b, "curve")) ? "on" : "off");
    printf("TASKS  queued=%lld delayed=%lld in_flight=%lld\n",
           sl_cli_int(b, "tasks_queued"), sl_cli_int(b, "tasks_delayed"),
           sl_cli_int(b, "tasks_in_flight"));
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
        long long now = sl_cli_int(b, counts[i]);
        printf("  %-18s %12lld", counts[i], now);
        if (prev && elapsed_s > 0)
            printf("  %10.1f/s",
                   (double)(now - sl_cli_int(prev, counts[i])) / elapsed_s);
        printf("\n");
    }
}

static void
print_status(const sl_value_t *s)
{
    const sl_value_t *workers = sl_value_lookup(s, "workers");
    const sl_value_t *queues = sl_value_lookup(s, "queues");
    const sl_value_t *runs = sl_value_lookup(s, "runs");
    printf("WORKERS (%zu)\n", sl_value_count(workers));
    for (size_t i = 0; i < sl_value_count(workers); i++) {
        const sl_value_t *w = sl_value_at(workers, i);
        char *tasks = sl_cli_brief(sl_value_lookup(w, "tasks"), 70);
        char *rules = sl_value_count(sl_value_lookup(w, "exec"))
                          ? sl_cli_brief(sl_value_lookup(w, "exec"), 70)
                          : NULL;
        printf("  %-28s host=%s pid=%lld slots=%lld in_flight=%lld%s\n  %-28s "
               "done=%lld cache_errors=%lld seen=%lldms ago\n  %-28s "
               "tasks=%s\n",
               sl_cli_str(w, "id"), sl_cli_str(w, "host"), sl_cli_int(w, "pid"),
               sl_cli_int(w, "slots"), sl_cli_int(w, "in_flight"),
               sl_value_get_bool(sl_value_lookup(w, "draining")) ? " DRAINING"
                                                                 : "",
               "", sl_cli_int(w, "done"), sl_cli_int(w, "cache_errors"),
               sl_cli_int(w, "last_seen_ms"), "", tasks ? tasks : "");
        if (rules)
            printf("  %-28s exec=%s\n", "", rules);
        free(tasks);
        free(rules);
    }
    printf("QUEUES\n");
    for (size_t i = 0; i < sl_value_count(queues); i++) {
        const sl_value_t *q = sl_value_at(queues, i);
        long long able = sl_cli_int(q, "workers");
        printf("  %-28s depth=%lld workers=%lld%s\n", sl_cli_str(q, "task"),
               sl_cli_int(q, "depth"), able,
               able == 0 && sl_cli_int(q, "depth") > 0 ? "  WAITING: no "
                                                         "connected worker has "
                                                         "this task"
                                                       : "");
    }
    printf("RUNS (%zu, newest first)\n", sl_value_count(runs));
    for (size_t i = 0; i < sl_value_count(runs); i++) {
        const sl_value_t *r = sl_value_at(runs, i);
        char started[32], took[32];
        time_t at = (time_t)(sl_cli_int(r, "submitted_ms") / 1000);
        struct tm tm;
        strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ",
                 gmtime_r(&at, &tm));
        long long ms = sl_cli_int(r, "duration_ms");
        if (ms > 0)
            snprintf(took, sizeof took, "%.3fs", (double)ms / 1000.0);
        else
            snprintf(took, sizeof took, "%s", "-");
        printf("  %s %-9s %s %9s %-24s tasks=%lld done=%lld cached=%lld "
               "failed=%lld\n",
               sl_cli_str(r, "run_id"), sl_cli_str(r, "state"), started, took,
               sl_cli_str(r, "flow"), sl_cli_int(r, "tasks"),
               sl_cli_int(r, "done"), sl_cli_int(r, "cached"),
               sl_cli_int(r, "failed"));
    }
}

typedef struct {
    const char *broker; /* --broker */
    bool is_json;       /* --json */
    int timeout_ms;     /* --timeout */
    const char *run_id; /* the positional argument, or NULL */
    bool is_watch;      /* --watch: redraw until interrupted */
    double interval_s;  /* --interval: between redraws (1) */
    uint64_t count;     /* --count: redraws, then stop (0: no end) */
} status_args_t;

/* 0 to go on, 1 after --help, -1 on a bad argument (already said). */
static int
parse_args(status_args_t *a, int argc, char **argv, const char *usage)
{
    static const struct option longs[] =
        {{"broker", required_argument, NULL, 'b'},
         {"json", no_argument, NULL, 'j'},
         {"timeout", required_argument, NULL, 'T'},
         {"watch", no_argument, NULL, 'w'},
         {"interval", required_argument, NULL, 'i'},
         {"count", required_argument, NULL, 'n'},
         {"help", no_argument, NULL, 'h'},
         {NULL, 0, NULL, 0}};
    int c;
    char *end;
    *a = (status_args_t){sl_cli_broker(),
                         false,
                         SL_CLI_TIMEOUT_MS,
                         NULL,
                         false,
                         1,
                         0};
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'b': a->broker = optarg; break;
        case 'j': a->is_json = true; break;
        case 'T':
            if (sl_cli_timeout(argv[0], optarg, &a->timeout_ms) < 0)
                return -1;
            break;
        case 'w': a->is_watch = true; break;
        case 'i':
            a->interval_s = strtod(optarg, &end);
            if (*end || !(a->interval_s >= 0.1 && a->interval_s <= 3600)) {
                fprintf(stderr,
                        "--interval '%s': give seconds from 0.1 to 3600\n",
                        optarg);
                return -1;
            }
            break;
        case 'n':
            if (sl_cli_count(argv[0], "--count", optarg, 1, 1000000,
                             &a->count) < 0)
                return -1;
            break;
        case 'h': printf("%s", usage); return 1;
        default: fprintf(stderr, "%s", usage); return -1;
        }
    }
    a->run_id = optind < argc ? argv[optind] : NULL;
    return optind + 1 < argc ? -1 : 0;
}

/* --watch: the status, redrawn every interval until interrupted (or
 * --count redraws); a broker that does not answer is said on screen and
 * asked again. */
static int
watch(const status_args_t *a, sl_client_t *client)
{
    sl_value_t *prev = NULL;
    int64_t prev_ms = 0;
    bool is_tty = isatty(STDOUT_FILENO);
    for (uint64_t n = 0; !zsys_interrupted && (!a->count || n < a->count);
         n++) {
        if (n)
            for (int64_t until =
                     zclock_mono() + (int64_t)(a->interval_s * 1000);
                 !zsys_interrupted && zclock_mono() < until;)
                zclock_sleep(50);
        sl_error_t err = {0};
        sl_value_t *status = NULL;
        int rc =
            sl_client_status(client, a->run_id, a->timeout_ms, &status, &err);
        int64_t now_ms = zclock_mono();
        printf(is_tty ? "\033[H\033[2J" : "----\n");
        if (rc < 0) {
            printf("broker %s does not answer: %s\n", a->broker, err.msg);
        } else {
            const sl_value_t *b = sl_value_lookup(status, "broker");
            print_counters(b, prev ? sl_value_lookup(prev, "broker") : NULL,
                           (double)(now_ms - prev_ms) / 1000);
            print_status(status);
            sl_value_destroy(&prev);
            prev = status;
            prev_ms = now_ms;
        }
        fflush(stdout);
    }
    sl_value_destroy(&prev);
    return SL_EXIT_OK;
}

int
sl_cli_status(int argc, char **argv)
{
    status_args_t a;
    int rc = parse_args(&a, argc, argv,
                        "usage: sluice status [RUN] [--broker ENDPOINT] "
                        "[--json] [--timeout MS]\n                     "
                        "[--watch [--interval S] [--count N]]\n");
    if (rc != 0)
        return rc > 0 ? SL_EXIT_OK : SL_EXIT_USAGE;
    sl_error_t err = {0};
    sl_value_t *status = NULL;
    zsys_init();
    sl_client_t *client = sl_client_new(a.broker, &err);
    if (client && a.is_watch) {
        rc = watch(&a, client);
        sl_client_destroy(&client);
        return rc;
    }
    rc = client
             ? sl_client_status(client, a.run_id, a.timeout_ms, &status, &err)
             : err.code;
    sl_client_destroy(&client);
    if (rc < 0) {
        fprintf(stderr, "sluice status: %s\n", err.msg);
        return SL_EXIT_CONNECT;
    }
    if (a.is_json)
        sl_cli_print_json(stdout, status);
    else
        print_status(status);
    sl_value_destroy(&status);
    return SL_EXIT_OK;
}

int
sl_cli_cancel(int argc, char **argv)
{
    status_args_t a;
    int rc = parse_args(&a, argc, argv,
                        "usage: sluice cancel RUN [--broker ENDPOINT] [--json] "
                        "[--timeout MS]\n");
    if (rc != 0 || !a.run_id) {
        if (rc == 0)
            fprintf(stderr, "sluice cancel: name the run to cancel\n");
        return rc > 0 ? SL_EXIT_OK : SL_EXIT_USAGE;
    }
    sl_error_t err = {0};
    sl_value_t *status = NULL;
    zsys_init();
    sl_client_t *client = sl_client_new(a.broker, &err);
    rc = client
             ? sl_client_cancel(client, a.run_id, a.timeout_ms, &status, &err)
             : err.code;
    sl_client_destroy(&client);
    if (rc < 0) {
        fprintf(stderr, "sluice cancel: %s\n", err.msg);
        return rc == SL_ENOTFOUND ? SL_EXIT_FAILED : SL_EXIT_CONNECT;
    }
    const sl_value_t *run = sl_value_at(sl_value_lookup(status, "runs"), 0);
    if (a.is_json)
        sl_cli_print_json(stdout, run);
    else
        printf("run %s: %s, %lld of %lld tasks done\n",
               sl_cli_str(run, "run_id"), sl_cli_str(run, "state"),
               sl_cli_int(run, "done"), sl_cli_int(run, "tasks"));
    sl_value_destroy(&status);
    return SL_EXIT_OK;
}
