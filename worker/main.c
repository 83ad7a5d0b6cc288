/* worker/main.c: sluice-worker, a thin shell around sl_worker_t: parses
 * options, starts the worker, waits for SIGINT or SIGTERM, stops it. */
#include "cache.h"
#include "caps.h"
#include "http_request.h"
#include "log.h"
#include "service.h"
#include "worker.h"

#include <czmq.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_PLUGINS 64
#define MAX_EXEC    SL_EXEC_RULES_MAX_COUNT

static void
usage(FILE *out)
{
    fprintf(out, "usage: sluice-worker [options]\n  --broker ENDPOINT  "
                 "broker's worker socket (default tcp://127.0.0.1:5556)\n  "
                 "--slots N          executor threads (default: one per "
                 "core)\n  --cache URL        redis://[user@]host:port/db "
                 "(password from\n                     $SLUICE_REDIS_PASSWORD) "
                 "or lmdb://PATH; default\n                     "
                 "$SLUICE_CACHE_URL, else each flow's cache.url, else\n        "
                 "             the embedded cache\n  --tasks LIB.so     load a "
                 "task plugin (repeatable)\n  --id ID            worker id "
                 "(default host-pid-random)\n  --heartbeat-ms MS  heartbeat "
                 "interval (default 1000)\n  --isolate          run each task "
                 "in a forked child, so that a\n                     crash, a "
                 "timeout or runaway memory kills the\n                     "
                 "child and not the worker; enforces timeout\n  "
                 "--task-memory-mb N isolated: the child's memory limit "
                 "(default 4096)\n  --task-cpu-s N     isolated: the child's "
                 "CPU time limit (default none)\n  --grace-ms MS      on "
                 "SIGTERM, time to finish the tasks in hand\n                  "
                 "   (default 25000; a second signal stops at once)\n  --key "
                 "FILE         this worker's CURVE key pair (`sluice "
                 "keygen`;\n                     default $SLUICE_KEY)\n  "
                 "--broker-key FILE  the broker's public key (.pub; default\n  "
                 "                   $SLUICE_BROKER_KEY); with neither: in the "
                 "clear\n  --sign-key FILE    sign every cache entry written "
                 "with this Ed25519 key\n                     (`sluice keygen "
                 "--sign`; default $SLUICE_SIGN_KEY)\n  --trust DIR        "
                 "only entries signed by a key in DIR (*.pub) are hits;\n      "
                 "               others are misses, counted (default "
                 "$SLUICE_TRUST)\n  --http [HOST:]PORT serve /metrics "
                 "(Prometheus), /healthz and /readyz\n                     "
                 "here (default $SLUICE_HTTP, else not served)\n"
                 "  --exec RULE        run program tasks this rule allows "
                 "(repeatable):\n                     a bare name (wc, "
                 "python3), a path glob\n                     "
                 "('/usr/bin/*'), or '*' for any; none: no programs\n"
                 "  --exec-path DIRS   where bare program names are found\n"
                 "                     (default /usr/local/bin:/usr/bin:/bin)\n"
                 "  --exec-env NAME    pass this variable of the worker's "
                 "environment\n                     to programs "
                 "(repeatable)\n  --http-allow RULE  run http and load "
                 "tasks that send where this rule\n                     allows "
                 "(repeatable): HOST, HOST:PORT,\n                     "
                 "*.DOMAIN[:PORT], or '*' for anywhere; none:\n              "
                 "       no http tasks\n  --workspace DIR    where relative "
                 "inputs "
                 "are found (default: here)\n  --work-dir DIR     where "
                 "programs' working folders go\n                     "
                 "(default $TMPDIR/sluice-UID/work)\n  --max-stdout-mb N  a "
                 "program printing more fails (default 16)\n  --blob-dir DIR   "
                 "  "
                 "where output files over 1 MiB are stored (a\n              "
                 "       folder every worker sees); none: not cached\n  "
                 "--log-level LEVEL  error, warn, info (default), debug\n");
}

/* Reads a numeric option; says why on stderr if it is bad (-1). */
static int
number(const char *flag, const char *text, uint32_t min, uint32_t max,
       uint32_t *out)
{
    return sl_service_number32("sluice-worker", flag, text, min, max, out);
}

/* Finishes the tasks in hand within grace_ms, unless a second signal says
 * to stop at once. */
static void
drain(sl_worker_t *worker, uint32_t grace_ms)
{
    int64_t deadline = zclock_mono() + grace_ms;
    sl_log(SL_LOG_INFO, "worker",
           "worker=%s stopping: finishing the tasks in hand (up to %u ms; "
           "signal again to stop now)",
           sl_worker_id(worker), grace_ms);
    for (;;) {
        int64_t left = deadline - zclock_mono();
        if (left <= 0) {
            sl_log(SL_LOG_WARN, "worker",
                   "worker=%s grace period over: the broker requeues what is "
                   "left",
                   sl_worker_id(worker));
            return;
        }
        if (sl_worker_drain(worker, left < 200 ? (int)left : 200) == 0)
            return;
        if (sl_service_wait_for(0))
            return;
    }
}

int
main(int argc, char **argv)
{
    static const struct option longs[] =
        {{"broker", required_argument, NULL, 'b'},
         {"slots", required_argument, NULL, 's'},
         {"cache", required_argument, NULL, 'c'},
         {"tasks", required_argument, NULL, 't'},
         {"id", required_argument, NULL, 'i'},
         {"heartbeat-ms", required_argument, NULL, 'H'},
         {"grace-ms", required_argument, NULL, 'g'},
         {"isolate", no_argument, NULL, 'I'},
         {"task-memory-mb", required_argument, NULL, 'M'},
         {"task-cpu-s", required_argument, NULL, 'C'},
         {"log-level", required_argument, NULL, 'l'},
         {"key", required_argument, NULL, 'K'},
         {"broker-key", required_argument, NULL, 'B'},
         {"http", required_argument, NULL, 'P'},
         {"sign-key", required_argument, NULL, 'S'},
         {"trust", required_argument, NULL, 'R'},
         {"exec", required_argument, NULL, 'x'},
         {"exec-path", required_argument, NULL, 'X'},
         {"exec-env", required_argument, NULL, 'E'},
         {"workspace", required_argument, NULL, 'W'},
         {"work-dir", required_argument, NULL, 'D'},
         {"max-stdout-mb", required_argument, NULL, 'O'},
         {"blob-dir", required_argument, NULL, 'L'},
         {"http-allow", required_argument, NULL, 'A'},
         {"help", no_argument, NULL, 'h'},
         {NULL, 0, NULL, 0}};
    const char *plugins[MAX_PLUGINS], *rules[MAX_EXEC], *env[MAX_EXEC],
        *allow[SL_HTTP_RULES_MAX_COUNT];
    sl_worker_options_t opt = {.plugins = plugins,
                               .exec_rules = rules,
                               .exec_env = env,
                               .http_allow = allow};
    uint32_t grace_ms = 25000, memory_mb = 4096, stdout_mb = 16;
    sl_error_t err = {0};
    sl_log_set_level(SL_LOG_INFO);
    int c;
    const char *http = getenv("SLUICE_HTTP");
    opt.http = http && *http ? http : NULL;
    sl_service_init();
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'b': opt.endpoint = optarg; break;
        case 's':
            if (number("--slots", optarg, 1, SL_WORKER_SLOTS_MAX, &opt.slots) <
                0)
                return 2;
            break;
        case 'c':
            if (sl_cache_cli_url(optarg, &opt.cache_url, &err) < 0) {
                fprintf(stderr, "sluice-worker: %s\n", err.msg);
                return 2;
            }
            break;
        case 't':
            if (opt.plugin_count == MAX_PLUGINS) {
                fprintf(stderr, "sluice-worker: at most %d --tasks\n",
                        MAX_PLUGINS);
                return 2;
            }
            plugins[opt.plugin_count++] = optarg;
            break;
        case 'x':
        case 'E': {
            size_t *count =
                c == 'x' ? &opt.exec_rule_count : &opt.exec_env_count;
            if (*count == MAX_EXEC) {
                fprintf(stderr,
                        "sluice-worker: at most %d --exec and "
                        "--exec-env each\n",
                        MAX_EXEC);
                return 2;
            }
            (c == 'x' ? rules : env)[(*count)++] = optarg;
            break;
        }
        case 'A':
            if (opt.http_allow_count == SL_HTTP_RULES_MAX_COUNT) {
                fprintf(stderr, "sluice-worker: at most %d --http-allow\n",
                        SL_HTTP_RULES_MAX_COUNT);
                return 2;
            }
            allow[opt.http_allow_count++] = optarg;
            break;
        case 'X': opt.exec_path = optarg; break;
        case 'L': opt.blob_dir = optarg; break;
        case 'W': opt.workspace = optarg; break;
        case 'D': opt.work_dir = optarg; break;
        case 'O':
            if (number("--max-stdout-mb", optarg, 1, 64, &stdout_mb) < 0)
                return 2;
            break;
        case 'i': opt.id = optarg; break;
        case 'K': opt.key_file = optarg; break;
        case 'B': opt.broker_key_file = optarg; break;
        case 'P': opt.http = optarg; break;
        case 'S': opt.sign_key_file = optarg; break;
        case 'R': opt.trust_dir = optarg; break;
        case 'H':
            if (number("--heartbeat-ms", optarg, 1, 3600000,
                       &opt.heartbeat_ms) < 0)
                return 2;
            break;
        case 'g':
            if (number("--grace-ms", optarg, 1, 3600000, &grace_ms) < 0)
                return 2;
            break;
        case 'I': opt.is_isolated = true; break;
        case 'M':
            if (number("--task-memory-mb", optarg, 1, 3600000, &memory_mb) < 0)
                return 2;
            break;
        case 'C':
            if (number("--task-cpu-s", optarg, 1, 3600000,
                       &opt.task_cpu_seconds) < 0)
                return 2;
            break;
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
    opt.task_memory_bytes = (uint64_t)memory_mb << 20;
    opt.max_stdout_bytes = (uint64_t)stdout_mb << 20;
    if (!opt.cache_url) /* $SLUICE_CACHE_URL */
        sl_cache_cli_url(NULL, &opt.cache_url, &err);
    sl_worker_t *worker = sl_worker_new(&opt, &err);
    if (!worker) {
        fprintf(stderr, "sluice-worker: %s\n", err.msg);
        return 1;
    }
    sl_service_wait();
    drain(worker, grace_ms);
    sl_worker_destroy(&worker);
    sl_log(SL_LOG_INFO, "worker", "stopped");
    return 0;
}
