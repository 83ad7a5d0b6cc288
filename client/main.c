/* client/main.c: the `sluice` command: picks the subcommand and hands over
 * the rest of the arguments. */
#include "cli.h"

#include "cache.h"
#include "service.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void
usage(FILE *out)
{
    fprintf(out, "usage: sluice COMMAND [options]\n  run FLOW.yaml      run a "
                 "flow (--local, or --broker ENDPOINT)\n  status [RUN]       "
                 "workers, queues and runs of a broker\n  watch RUN          "
                 "follow a run submitted elsewhere, to its end\n  cancel RUN   "
                 "      end a run: its tasks stop, it ends cancelled\n  logs "
                 "RUN NODE[I]   what a failed program attempt wrote\n  cache "
                 "get|del|stats|ls|explain   look at the result cache\n  bench "
                 "WORKLOAD     measure throughput and latency against this "
                 "host's limits\n  load URL|FILE      an open-loop HTTP load "
                 "test "
                 "(--local, or on the workers)\n  keygen NAME...     make "
                 "CURVE key pairs "
                 "(NAME.key, NAME.pub)\n  health [HOST:]PORT is a broker's or "
                 "worker's --http port healthy (exit 0)\nRun `sluice COMMAND "
                 "--help` for a command's options.\n");
}

int
main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? SL_EXIT_USAGE : SL_EXIT_OK;
    }
    if (!strcmp(argv[1], "run"))
        return sl_cli_run(argc - 1, argv + 1);
    if (!strcmp(argv[1], "status"))
        return sl_cli_status(argc - 1, argv + 1);
    if (!strcmp(argv[1], "watch"))
        return sl_cli_watch(argc - 1, argv + 1);
    if (!strcmp(argv[1], "cancel"))
        return sl_cli_cancel(argc - 1, argv + 1);
    if (!strcmp(argv[1], "logs"))
        return sl_cli_logs(argc - 1, argv + 1);
    if (!strcmp(argv[1], "cache"))
        return sl_cli_cache(argc - 1, argv + 1);
    if (!strcmp(argv[1], "bench"))
        return sl_cli_bench(argc - 1, argv + 1);
    if (!strcmp(argv[1], "load"))
        return sl_cli_load(argc - 1, argv + 1);
    if (!strcmp(argv[1], "keygen"))
        return sl_cli_keygen(argc - 1, argv + 1);
    if (!strcmp(argv[1], "health"))
        return sl_cli_health(argc - 1, argv + 1);
    fprintf(stderr, "sluice: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return SL_EXIT_USAGE;
}

const char *
sl_cli_broker(void)
{
    const char *env = getenv("SLUICE_BROKER");
    return env && *env ? env : SL_CLI_BROKER;
}

void
sl_cli_print_json(FILE *out, const sl_value_t *v)
{
    char *json = sl_value_to_json(v);
    fprintf(out, "%s\n", json ? json : "null");
    free(json);
}

char *
sl_cli_brief(const sl_value_t *v, size_t width)
{
    char *json = sl_value_to_json(v);
    if (json && strlen(json) > width && width > 3)
        strcpy(json + width - 3, "...");
    return json;
}

long long
sl_cli_int(const sl_value_t *map, const char *key)
{
    return (long long)sl_value_get_int(sl_value_lookup(map, key));
}

const char *
sl_cli_str(const sl_value_t *map, const char *key)
{
    const char *s = sl_value_get_string(sl_value_lookup(map, key), NULL);
    return s ? s : "";
}

int
sl_cli_count(const char *cmd, const char *opt, const char *text, uint64_t min,
             uint64_t max, uint64_t *out)
{
    char prog[64];
    snprintf(prog, sizeof prog, "sluice %s", cmd);
    return sl_service_number(prog, opt, text, min, max, out);
}

int
sl_cli_timeout(const char *cmd, const char *text, int *out)
{
    uint64_t v;
    if (sl_cli_count(cmd, "--timeout", text, 1, 3600000, &v) < 0)
        return -1;
    *out = (int)v;
    return 0;
}

int
sl_cli_cache_url(const char *given, const char **url)
{
    sl_error_t err = {0};
    if (sl_cache_cli_url(given, url, &err) < 0) {
        fprintf(stderr, "sluice: %s\n", err.msg);
        return -1;
    }
    return 0;
}
