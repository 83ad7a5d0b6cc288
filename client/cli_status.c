/* client/cli_status.c: `sluice status [RUN]`: a broker's workers (their
 * tasks and slots), its queues (depth, and whether any worker can take
 * them) and its runs; and `sluice cancel RUN`, which asks the same broker
 * to end a run and prints what became of it. */
#include "cli.h"

#include <czmq.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

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
        printf("  %-28s host=%s pid=%lld slots=%lld in_flight=%lld%s\n"
               "  %-28s done=%lld cache_errors=%lld seen=%lldms ago\n"
               "  %-28s tasks=%s\n", sl_cli_str(w, "id"), sl_cli_str(w, "host"),
               sl_cli_int(w, "pid"), sl_cli_int(w, "slots"),
               sl_cli_int(w, "in_flight"),
               sl_value_get_bool(sl_value_lookup(w, "draining")) ? " DRAINING"
                                                                : "",
               "", sl_cli_int(w, "done"), sl_cli_int(w, "cache_errors"),
               sl_cli_int(w, "last_seen_ms"), "", tasks ? tasks : "");
        free(tasks);
    }
    printf("QUEUES\n");
    for (size_t i = 0; i < sl_value_count(queues); i++) {
        const sl_value_t *q = sl_value_at(queues, i);
        long long able = sl_cli_int(q, "workers");
        printf("  %-28s depth=%lld workers=%lld%s\n", sl_cli_str(q, "task"),
               sl_cli_int(q, "depth"), able,
               able == 0 && sl_cli_int(q, "depth") > 0
                   ? "  WAITING: no connected worker has this task" : "");
    }
    printf("RUNS (%zu)\n", sl_value_count(runs));
    for (size_t i = 0; i < sl_value_count(runs); i++) {
        const sl_value_t *r = sl_value_at(runs, i);
        printf("  %s %-8s %-24s tasks=%lld done=%lld cached=%lld "
               "failed=%lld\n", sl_cli_str(r, "run_id"), sl_cli_str(r, "state"),
               sl_cli_str(r, "flow"), sl_cli_int(r, "tasks"),
               sl_cli_int(r, "done"), sl_cli_int(r, "cached"),
               sl_cli_int(r, "failed"));
    }
}

typedef struct {
    const char *broker;   /* --broker */
    bool is_json;         /* --json */
    int timeout_ms;       /* --timeout */
    const char *run_id;   /* the positional argument, or NULL */
} status_args_t;

/* 0 to go on, 1 after --help, -1 on a bad argument (already said). */
static int
parse_args(status_args_t *a, int argc, char **argv, const char *usage)
{
    static const struct option longs[] = {
        {"broker", required_argument, NULL, 'b'},
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    *a = (status_args_t){SL_CLI_BROKER, false, SL_CLI_TIMEOUT_MS, NULL};
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'b': a->broker = optarg; break;
        case 'j': a->is_json = true; break;
        case 'T': a->timeout_ms = atoi(optarg); break;
        case 'h': printf("%s", usage); return 1;
        default: fprintf(stderr, "%s", usage); return -1;
        }
    }
    a->run_id = optind < argc ? argv[optind] : NULL;
    return optind + 1 < argc ? -1 : 0;
}

int
sl_cli_status(int argc, char **argv)
{
    status_args_t a;
    int rc = parse_args(&a, argc, argv, "usage: sluice status [RUN] [--broker "
                        "ENDPOINT] [--json] [--timeout MS]\n");
    if (rc != 0)
        return rc > 0 ? SL_EXIT_OK : SL_EXIT_USAGE;
    sl_error_t err = {0};
    sl_value_t *status = NULL;
    zsys_init();
    sl_client_t *client = sl_client_new(a.broker, &err);
    rc = client ? sl_client_status(client, a.run_id, a.timeout_ms, &status,
                                   &err)
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
    int rc = parse_args(&a, argc, argv, "usage: sluice cancel RUN [--broker "
                        "ENDPOINT] [--json] [--timeout MS]\n");
    if (rc != 0 || !a.run_id) {
        if (rc == 0)
            fprintf(stderr, "sluice cancel: name the run to cancel\n");
        return rc > 0 ? SL_EXIT_OK : SL_EXIT_USAGE;
    }
    sl_error_t err = {0};
    sl_value_t *status = NULL;
    zsys_init();
    sl_client_t *client = sl_client_new(a.broker, &err);
    rc = client ? sl_client_cancel(client, a.run_id, a.timeout_ms, &status,
                                   &err)
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
