/* client/cli_logs.c: `sluice logs RUN NODE[INDEX]`: what the last failed
 * attempt of a task wrote (the end of its standard output and error), as
 * the broker keeps it with the run. Called by the CLI's main thread. */
#include "cli.h"

#include <czmq.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: sluice logs RUN NODE[INDEX] [--broker ENDPOINT] [--json] "
    "[--timeout MS]\n  what the last failed attempt of NODE (element INDEX "
    "of a mapped node)\n  wrote to its standard output and error (the last "
    "64 KiB of each)\n";

/* Splits "NODE[INDEX]" into node (size bytes) and *index; -1 if bad. */
static int
split_node(const char *arg, char *node, size_t size, uint32_t *index)
{
    const char *open = strchr(arg, '[');
    char *end = NULL;
    *index = 0;
    if (!open) {
        snprintf(node, size, "%s", arg);
        return *node ? 0 : -1;
    }
    unsigned long i = strtoul(open + 1, &end, 10);
    if (open == arg || end == open + 1 || strcmp(end, "]") != 0 ||
        i > UINT32_MAX)
        return -1;
    snprintf(node, size, "%.*s", (int)(open - arg), arg);
    *index = (uint32_t)i;
    return 0;
}

static void
print_part(const char *title, const sl_value_t *bytes)
{
    size_t size = 0;
    const char *data = sl_value_get_bytes(bytes, &size);
    printf("--- %s (%zu bytes) ---\n", title, size);
    if (size) {
        fwrite(data, 1, size, stdout);
        if (data[size - 1] != '\n')
            printf("\n");
    }
}

int
sl_cli_logs(int argc, char **argv)
{
    static const struct option longs[] = {{"broker", required_argument, NULL,
                                           'b'},
                                          {"json", no_argument, NULL, 'j'},
                                          {"timeout", required_argument, NULL,
                                           'T'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *broker = sl_cli_broker();
    bool is_json = false;
    int timeout_ms = SL_CLI_TIMEOUT_MS, c;
    char node[256];
    uint32_t index = 0;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'b': broker = optarg; break;
        case 'j': is_json = true; break;
        case 'T':
            if (sl_cli_timeout("logs", optarg, &timeout_ms) < 0)
                return SL_EXIT_USAGE;
            break;
        case 'h': printf("%s", usage); return SL_EXIT_OK;
        default: fprintf(stderr, "%s", usage); return SL_EXIT_USAGE;
        }
    }
    if (optind + 2 != argc ||
        split_node(argv[optind + 1], node, sizeof node, &index) < 0) {
        fprintf(stderr, "sluice logs: give RUN and NODE or NODE[INDEX]\n%s",
                usage);
        return SL_EXIT_USAGE;
    }
    sl_error_t err = {0};
    sl_value_t *logs = NULL;
    zsys_init();
    sl_client_t *client = sl_client_new(broker, &err);
    int rc = client ? sl_client_logs(client, argv[optind], node, index,
                                     timeout_ms, &logs, &err)
                    : err.code;
    sl_client_destroy(&client);
    if (rc < 0) {
        fprintf(stderr, "sluice logs: %s\n", err.msg);
        return rc == SL_ENOTFOUND ? SL_EXIT_FAILED : SL_EXIT_CONNECT;
    }
    if (is_json) {
        sl_cli_print_json(stdout, logs);
    } else {
        printf("%s[%u] of run %s, attempt %lld on %s: %s\n", node, index,
               argv[optind], sl_cli_int(logs, "attempt"),
               sl_cli_str(logs, "worker"), sl_cli_str(logs, "error"));
        print_part("standard output", sl_value_lookup(logs, "stdout"));
        print_part("standard error", sl_value_lookup(logs, "stderr"));
    }
    sl_value_destroy(&logs);
    return SL_EXIT_OK;
}
