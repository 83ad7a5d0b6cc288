/* worker/main.c: sluice-worker, a thin shell around sl_worker_t: parses
 * options, starts the worker, waits for SIGINT or SIGTERM, stops it. */
#include "log.h"
#include "service.h"
#include "worker.h"

#include <czmq.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_PLUGINS 64

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: sluice-worker [options]\n"
            "  --broker ENDPOINT  broker's worker socket "
            "(default tcp://127.0.0.1:5556)\n"
            "  --slots N          executor threads (default: one per core)\n"
            "  --cache URL        redis://[:password@]host:port/db or "
            "lmdb://PATH;\n"
            "                     default: each flow's cache.url, else the "
            "embedded cache\n"
            "  --tasks LIB.so     load a task plugin (repeatable)\n"
            "  --id ID            worker id (default host-pid-random)\n"
            "  --log-level LEVEL  error, warn, info (default), debug\n");
}

int
main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"broker", required_argument, NULL, 'b'},
        {"slots", required_argument, NULL, 's'},
        {"cache", required_argument, NULL, 'c'},
        {"tasks", required_argument, NULL, 't'},
        {"id", required_argument, NULL, 'i'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *plugins[MAX_PLUGINS];
    sl_worker_options_t opt = {.plugins = plugins};
    sl_log_set_level(SL_LOG_INFO);
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'b': opt.endpoint = optarg; break;
        case 's':
            opt.slots = (uint32_t)strtoul(optarg, &end, 10);
            if (*end || opt.slots == 0) {
                fprintf(stderr, "sluice-worker: --slots '%s': give a number "
                        "from 1 to 1024\n", optarg);
                return 2;
            }
            break;
        case 'c': opt.cache_url = optarg; break;
        case 't':
            if (opt.plugin_count == MAX_PLUGINS) {
                fprintf(stderr, "sluice-worker: at most %d --tasks\n",
                        MAX_PLUGINS);
                return 2;
            }
            plugins[opt.plugin_count++] = optarg;
            break;
        case 'i': opt.id = optarg; break;
        case 'l':
            if (sl_service_log_level("sluice-worker", optarg) < 0)
                return 2;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sluice-worker: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    zsys_init();
    sl_error_t err = {0};
    sl_worker_t *worker = sl_worker_new(&opt, &err);
    if (!worker) {
        fprintf(stderr, "sluice-worker: %s\n", err.msg);
        return 1;
    }
    sl_service_wait();
    sl_log(SL_LOG_INFO, "worker", "worker=%s stopping", sl_worker_id(worker));
    sl_worker_destroy(&worker);
    return 0;
}
