/* worker/worker.h: sl_worker_t, a worker: connects to a broker, advertises
 * its tasks and slots, and runs what it is given on a pool of executor
 * threads. sluice-worker's main.c, `sluice run --local` and the tests all
 * start this same object. */
#ifndef SL_WORKER_H
#define SL_WORKER_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_worker sl_worker_t;

/* The most executor threads a worker runs. */
#define SL_WORKER_SLOTS_MAX 1024

typedef struct sl_worker_options {
    const char *endpoint;       /* the broker's worker socket */
    const char *id;             /* NULL: host-pid-random */
    uint32_t slots;             /* executor threads; 0: one per core */
    const char *cache_url;      /* NULL: each flow's, else fallback_url */
    const char *fallback_url;   /* NULL: the embedded default (LMDB) */
    const char *const *plugins; /* plugin_count .so paths */
    size_t plugin_count;
    uint32_t heartbeat_ms;       /* heartbeat interval (1000) */
    uint32_t liveness;           /* silent heartbeats before the broker is
                                    presumed gone and greeted again (3) */
    bool is_isolated;            /* each task in a forked child */
    uint64_t task_memory_bytes;  /* isolated: the child's address space */
    uint32_t task_cpu_seconds;   /* isolated: the child's CPU time */
    const char *key_file;        /* CURVE key pair (.key); NULL: $SLUICE_KEY */
    const char *broker_key_file; /* the broker's .pub; NULL:
                                    $SLUICE_BROKER_KEY; neither: in the
                                    clear (inproc:// never uses them) */
    const char *http;            /* "[HOST:]PORT" of /metrics, /healthz and
                                    /readyz; NULL: none */
    const char *sign_key_file;   /* Ed25519 key (.sign.key) that signs
                                    every entry written; NULL:
                                    $SLUICE_SIGN_KEY, else unsigned */
    const char *trust_dir;       /* folder of .sign.pub keys: only entries
                                    they signed are hits; NULL:
                                    $SLUICE_TRUST, else any entry */
    const char *const *exec_rules; /* --exec: the programs it may run
                                      (docs/TASKS.md); none: no program */
    size_t exec_rule_count;
    const char *exec_path;       /* where bare program names are looked
                                    up; NULL: SL_PROGRAM_PATH */
    const char *const *exec_env; /* --exec-env: variables of the worker's
                                    environment its programs get */
    size_t exec_env_count;
    const char *workspace;         /* relative inputs resolve here; NULL:
                                      the current folder */
    const char *work_dir;          /* attempts' working folders go here;
                                      NULL: $TMPDIR/sluice-UID/work */
    uint64_t max_stdout_bytes;     /* a program's output cap; 0:
                                      SL_STDOUT_MAX_BYTES */
    const char *blob_dir;          /* where outputs over 1 MiB are stored (made
                                      if need be); NULL: they are not cached */
    const char *const *http_allow; /* --http-allow: where http@1 and
                                      load@1 may send (docs/LOAD.md);
                                      none: no http tasks */
    size_t http_allow_count;
} sl_worker_options_t;

/* Builds the task registry (built-ins and plugins), then starts the worker
 * thread and its executors. NULL, with err saying why, if a plugin does not
 * load or an option is bad; nothing is left running then. */
sl_worker_t *sl_worker_new(const sl_worker_options_t *opt, sl_error_t *err);

/* Stops taking tasks (the broker is told at once), finishes those in
 * hand, and returns 0 when none is left, or SL_ETIMEDOUT after grace_ms.
 * Then call sl_worker_destroy. */
int sl_worker_drain(sl_worker_t *w, int grace_ms);

/* Says goodbye to the broker, stops the threads and frees the worker.
 * NULL-safe; sets *p to NULL. */
void sl_worker_destroy(sl_worker_t **p);

/* Whether the worker has task name (version 0: any version). */
bool sl_worker_serves(const sl_worker_t *w, const char *name, uint32_t version);

/* The worker's id (borrowed). */
const char *sl_worker_id(const sl_worker_t *w);

#endif
