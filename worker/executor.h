/* worker/executor.h: one executor thread (a CZMQ actor): takes batches of
 * tasks from the worker's queue and runs them, with its own cache
 * connections, and sends back packed result envelopes. */
#ifndef SL_EXECUTOR_H
#define SL_EXECUTOR_H

#include "isolate.h"
#include "lane.h"
#include "registry.h"
#include "sign.h"
#include "task_ctx.h"
#include "task_queue.h"

#include <czmq.h>

/* How a worker runs program tasks (exec@1): docs/TASKS.md. */
typedef struct sl_program_options {
    char *const *rules; /* --exec rules; rule_count 0: no programs */
    size_t rule_count;
    const char *path;      /* where bare program names are looked up */
    char *const *env_pass; /* --exec-env: names let through from the
                              worker's own environment */
    size_t env_pass_count;
    const char *workspace;   /* absolute: relative inputs resolve here */
    const char *work_dir;    /* absolute: each attempt's working folder is
                                made here, and removed after it */
    size_t max_stdout_bytes; /* a program's output past this fails it */
    const char *blob_dir;    /* absolute: where outputs over the cache's
                                cap go (--blob-dir); NULL: not cached */
} sl_program_options_t;

typedef struct sl_executor_config {
    const sl_registry_t *registry; /* read-only while the actor lives */
    const char *worker_id;         /* for entries' producer field */
    const char *cache_url;         /* the worker's --cache; NULL: none */
    const char *fallback_url;      /* when neither worker nor flow has one */
    bool is_isolated;              /* run each task in a forked child */
    sl_isolate_limits_t limits;    /* the child's limits */
    const sl_sign_key_t *sign_key; /* signs every entry written; NULL:
                                      entries go unsigned */
    const sl_trust_t *trust;       /* only entries signed by these keys
                                      are hits; NULL: any entry */
    const sl_program_options_t *programs;   /* never NULL */
    const struct sl_http_rules *http_rules; /* --http-allow; NULL: none */
    sl_lane_config_t lane; /* where each executor's lane goes; no
                              endpoint: answers go by the worker thread */
} sl_executor_config_t;

/* What an executor says about each result it sends, for /metrics. */
typedef struct sl_exec_result_stat {
    const sl_task_def_t *def; /* in the registry; NULL: a task this worker
                                 does not have */
    uint64_t duration_us;     /* compute time; 0 if not computed */
    uint8_t status;           /* Sluice__Result__Status */
    uint8_t failure;          /* Sluice__Result__Failure */
    uint8_t cache;            /* Sluice__Result__Cache */
    uint8_t rejected;         /* a stored entry was refused: 0 if not,
                                 else SL_REJECT_* */
} sl_exec_result_stat_t;

/* Why a stored entry was refused (a miss): checked on every read, and the
 * signature reasons with --trust. */
enum {
    SL_REJECT_NONE,
    SL_REJECT_UNSIGNED,  /* no signature */
    SL_REJECT_UNTRUSTED, /* signed by a key not trusted */
    SL_REJECT_BAD,       /* the signature does not match */
    SL_REJECT_EXPIRED,   /* past the expiry it was signed with */
    SL_REJECT_VERSION,   /* computed by another version of the task */
    SL_REJECT_CORRUPT,   /* does not decode, or of another format */
    SL_REJECT_OTHER_KEY, /* made for another key (copied or planted) */
    SL_REJECT_TOO_LARGE, /* over the read cap: never read */
    SL_REJECT_OUTPUTS    /* its output files cannot be restored */
};

typedef enum {
    SL_CACHE_OP_GET,  /* look keys up (a probe also locks the misses) */
    SL_CACHE_OP_LOCK, /* take the locks of keys about to be computed */
    SL_CACHE_OP_SET   /* store entries, release locks */
} sl_cache_op_t;

/* One round trip to a cache, for /metrics. */
typedef struct sl_exec_cache_stat {
    uint64_t duration_us; /* the round trip */
    uint32_t keys_ok;     /* get: hits; lock: taken; set: stored */
    uint32_t keys_other;  /* get: misses; lock: held by another worker;
                             set: a lock released, nothing stored */
    uint32_t keys_failed; /* the cache failed for them */
    uint8_t op;           /* sl_cache_op_t */
} sl_exec_cache_stat_t;

/* Messages on the actor pipe (frames):
 *   worker -> executor: "T": tasks were put in the queue while this
 *                       executor was idle; it takes batches until it
 *                       finds the queue empty (then idle again)
 *                       "C", then the ids (uint64_t, host order) of tasks
 *                       whose run was cancelled: those of the batch in
 *                       hand not yet computed are answered at once as
 *                       cancelled (failure CANCELLED); the one computing
 *                       is stopped through the board
 *   executor -> worker: "R", packed Envelope(results) to forward as is,
 *                       then the task ids it answers (uint64_t, host order),
 *                       then an sl_exec_result_stat_t per result, then the
 *                       sl_exec_cache_stat_t of the round trips since the
 *                       last "R" (both arrays, maybe empty)
 *                       "S", then the two stats frames of "R": round trips
 *                       that ended after the batch's last "R" (its store,
 *                       read after the answers went), when no "R" follows
 *                       soon
 * The strings in cfg, the board and the queue must outlive the actor. The
 * board is this executor's own: the worker thread writes cancel_id, the
 * executor running. It takes from queue as taker number index. */
zactor_t *sl_executor_new(const sl_executor_config_t *cfg,
                          sl_cancel_board_t *board, sl_task_queue_t *queue,
                          uint32_t index);

#endif
