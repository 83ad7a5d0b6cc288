/* broker/main.c: sluice-broker, a thin shell around sl_broker_t: parses
 * options, starts the broker, waits for SIGINT or SIGTERM, stops it. */
#include "broker.h"
#include "dirs.h"
#include "log.h"
#include "service.h"

#include <czmq.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: sluice-broker [options]\n  --clients ENDPOINT  where "
            "clients connect (default %s)\n  --workers ENDPOINT  where workers "
            "connect (default %s)\n  --prefetch N        tasks a worker may "
            "hold beyond its slots (default 2)\n  --keep-runs N       finished "
            "runs kept for status (default 100)\n  --heartbeat-ms MS   "
            "heartbeat interval (default 1000)\n  --liveness N        missed "
            "heartbeats before a worker is dead (default 3)\n  --journal PATH  "
            "    where runs are journalled, so that a restart resumes\n        "
            "              them; 'none' for no journal (default:\n             "
            "         $SLUICE_STATE_DIR, $XDG_STATE_HOME/sluice or\n           "
            "           ~/.local/state/sluice, then broker-PORT.journal)\n  "
            "--key FILE          the broker's CURVE key pair (from `sluice "
            "keygen`):\n                      both sockets then take only the "
            "keys below\n  --allow-clients DIR public keys (*.pub) of the "
            "clients allowed\n  --allow-workers DIR public keys (*.pub) of the "
            "workers allowed\n                      (read again every "
            "heartbeat: remove a file to revoke)\n  --allow-programs DIR  "
            "public keys of the clients that may\n                      "
            "submit program tasks (default: every allowed client)\n  "
            "--http [HOST:]PORT  serve "
            "/metrics (Prometheus), /healthz and /readyz\n                     "
            " here (default $SLUICE_HTTP, else not served)\n  --log-level "
            "LEVEL   error, warn, info (default), debug\n",
            SL_BROKER_FRONTEND, SL_BROKER_BACKEND);
}

/* Reads a numeric option; says why on stderr if it is bad (-1). */
static int
number(const char *flag, const char *text, uint32_t min, uint32_t max,
       uint32_t *out)
{
    return sl_service_number32("sluice-broker", flag, text, min, max, out);
}

/* The default journal: a state folder, and a name made from the port of
 * the client endpoint, so that brokers on one machine do not share one. */
static const char *
default_path(char *buf, size_t size, const char *frontend)
{
    char dir[4096];
    const char *colon = strrchr(frontend, ':');
    const char *port = colon && colon[1] ? colon + 1 : "default";
    sl_dirs_state(dir, sizeof dir);
    snprintf(buf, size, "%s/broker-%s.journal", dir, port);
    return buf;
}

int
main(int argc, char **argv)
{
    static const struct option longs[] =
        {{"clients", required_argument, NULL, 'c'},
         {"workers", required_argument, NULL, 'w'},
         {"prefetch", required_argument, NULL, 'p'},
         {"keep-runs", required_argument, NULL, 'k'},
         {"heartbeat-ms", required_argument, NULL, 'H'},
         {"liveness", required_argument, NULL, 'L'},
         {"journal", required_argument, NULL, 'j'},
         {"log-level", required_argument, NULL, 'l'},
         {"key", required_argument, NULL, 'K'},
         {"allow-clients", required_argument, NULL, 'C'},
         {"allow-workers", required_argument, NULL, 'W'},
         {"allow-programs", required_argument, NULL, 'G'},
         {"http", required_argument, NULL, 'P'},
         {"help", no_argument, NULL, 'h'},
         {NULL, 0, NULL, 0}};
    sl_broker_options_t opt = {.prefetch = 2};
    const char *journal = NULL;
    char default_journal[4096];
    sl_log_set_level(SL_LOG_INFO);
    int c;
    const char *http = getenv("SLUICE_HTTP");
    opt.http = http && *http ? http : NULL;
    sl_service_init();
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'c': opt.frontend = optarg; break;
        case 'w': opt.backend = optarg; break;
        case 'p':
            if (number("--prefetch", optarg, 0, 1000000, &opt.prefetch) < 0)
                return 2;
            break;
        case 'k':
            if (number("--keep-runs", optarg, 1, 1000000, &opt.finished_runs) <
                0)
                return 2;
            break;
        case 'H':
            if (number("--heartbeat-ms", optarg, 1, 3600000,
                       &opt.heartbeat_ms) < 0)
                return 2;
            break;
        case 'L':
            if (number("--liveness", optarg, 1, 1000, &opt.liveness) < 0)
                return 2;
            break;
        case 'j': journal = optarg; break;
        case 'K': opt.key_file = optarg; break;
        case 'C': opt.allow_clients = optarg; break;
        case 'W': opt.allow_workers = optarg; break;
        case 'G': opt.allow_programs = optarg; break;
        case 'P': opt.http = optarg; break;
        case 'l':
            if (sl_service_log_level("sluice-broker", optarg) < 0)
                return 2;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sluice-broker: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    if (!journal)
        journal =
            default_path(default_journal, sizeof default_journal,
                         opt.frontend ? opt.frontend : SL_BROKER_FRONTEND);
    opt.journal = strcmp(journal, "none") == 0 ? NULL : journal;
    sl_error_t err = {0};
    sl_broker_t *broker = sl_broker_new(&opt, &err);
    if (!broker) {
        fprintf(stderr, "sluice-broker: %s\n", err.msg);
        return 1;
    }
    sl_service_wait();
    sl_broker_stop_accepting(broker);
    sl_broker_destroy(&broker);
    sl_log(SL_LOG_INFO, "broker",
           "stopped; the journal holds what was in progress");
    return 0;
}
