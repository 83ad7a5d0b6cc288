/* worker/batch.h: a batch of task calls as an executor works on them,
 * shared by the two files of an executor: executor.c (the actor, its pipe,
 * computing, answering) and exec_cache.c (lookups, locks, entries,
 * stores). Sluice's own types only: the calls come decoded (task_call.h)
 * and the answers go out through task_wire.c. Owned by one executor
 * thread; nothing else includes this. */
#ifndef SL_BATCH_H
#define SL_BATCH_H

#include "cache_pool.h"
#include "caps.h"
#include "digest.h"
#include "executor.h"
#include "inputs.h"
#include "outputs.h"
#include "workdir.h"
#include "program.h"
#include "outcome.h"
#include "task_call.h"
#include "task_ctx.h"

#include <czmq.h>

/* How long a worker's lock on a key it computes lasts: others wait for the
 * entry that long at most, then compute it themselves. */
#define SL_BATCH_LOCK_MS 5000
/* A task whose computations this executor has measured at under this on
 * average takes no lock: computing it twice, should a worker behind
 * another broker compute it at the same moment, costs less than the lock
 * (two more commands per key, which were a third of Redis's work in a
 * cached fan-out). docs/CACHING.md. */
#define SL_BATCH_LOCK_MIN_US 1000

typedef struct {
    const sl_executor_config_t *cfg; /* borrowed from the worker */
    zsock_t *pipe;                   /* to the worker thread */
    sl_cache_pool_t *caches;         /* connections by URL */
    sl_task_ctx_t ctx;               /* handed to each task */
    bool has_warned_timeout;         /* said once that it cannot enforce */
    sl_task_queue_t *queue;          /* where its batches come from */
    uint32_t index;                  /* its number there */
    sl_buf_t trips;                  /* sl_exec_cache_stat_t of the cache
                                        round trips since the last "R" */
    zsock_t *lane;                   /* its own connection to the broker,
                                        for its answers; NULL: none */
    sl_buf_t answered;               /* ids answered since the last "R" */
    sl_buf_t answered_stats;         /* and their sl_exec_result_stat_t */
    sl_cancel_board_t *board;        /* shared with the worker thread */
    bool is_term;                    /* $TERM came during a batch */
    sl_digest_memo_t *memo;          /* digests of input files; NULL:
                                        read every time */
    sl_workdir_t *workdir;           /* where its programs run, made at
                                        the first; NULL before */
    sl_buf_t stores;                 /* store_t of the stores sent and not
                                        yet waited for (exec_cache.c) */
    bool is_missing;                 /* the last lookup mostly missed */
    pid_t pid;                       /* its process: a forked child sends
                                        no progress on its sockets */
    uint32_t *cost_us;               /* per task of the registry, its average
                                        compute time here; 0: none measured
                                        yet. NULL: unknown, all lock */
} executor_t;

typedef struct {
    sl_task_call_t call;             /* what to run, owned */
    const sl_task_def_t *def;        /* the code to run, NULL if unknown */
    sl_pooled_cache_t *slot;         /* pinned until the batch ends; NULL:
                                        cache: none */
    char key[SL_KEY_MAX_BYTES + 1];  /* its cache key; "": none */
    uint8_t digest[SL_DIGEST_BYTES]; /* input digest */
    sl_outcome_t outcome;            /* what goes back (strings point below) */
    sl_value_t *value;               /* the result value, owned */
    char error[512];                 /* outcome.error storage */
    char cache_error[512];           /* outcome.cache_error storage */
    bool is_looked_up;               /* its key went to the cache */
    bool is_locked;                  /* this worker holds its key's lock */
    bool is_lock_free;               /* cheap: computed without a lock */
    bool is_contended;               /* another worker held the lock */
    sl_buf_t entry;                  /* encoded entry waiting to be stored */
    bool needs_store;                /* entry goes to the cache at the flush */
    bool is_entry_due;               /* entry to encode after the answer */
    uint64_t entry_duration_us;      /* its compute time, for it */
    char token[300];           /* the lock's value: task id, attempt, us */
    bool is_done;              /* the outcome is final */
    bool is_cancelled;         /* its run was cancelled */
    uint8_t rejected;          /* SL_REJECT_*: a stored entry refused */
    sl_inputs_t inputs;        /* what it reads, resolved and digested */
    bool is_program;           /* a program task (exec@1) */
    sl_program_call_t program; /* its call, borrowed from call.args */
    char *program_path;        /* the program file found, owned */
    sl_value_t *files;         /* [name, digest] of each file its key
                                  covers, owned; NULL: none */
    sl_outputs_t outputs;      /* the files its program wrote */
    bool is_unstorable;        /* its entry may not be stored (an output
                                  could not be; cache_error says why) */
    sl_buf_t log_out;          /* a failed program: the end of its standard
                                  output, for `sluice logs` */
    sl_buf_t log_err;          /* and of its standard error */
} job_t;

/* Monotonic microseconds. */
uint64_t sl_batch_now_us(void);

/* The job's answer is this error, a failure of the task. */
void sl_batch_fail(job_t *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The cache failed for j (it computes anyway): msg says why. */
void sl_batch_cache_failed(job_t *j, const char *msg);

/* Notes a cache round trip that began at start_us, for /metrics (sent
 * with the next results; dropped if memory runs out). */
void sl_batch_note_trip(executor_t *ex, sl_cache_op_t op, uint64_t start_us,
                        uint32_t ok, uint32_t other, uint32_t failed);

/* ---- executor.c ---- */

/* Frees what j holds and gives its cache connection back to ex's pool. */
void sl_batch_job_fini(executor_t *ex, job_t *j);

/* Readies j, whose call is filled: its code found in the registry, its
 * key made, its cache connection taken (pinned until the batch ends), and
 * whether it locks (SL_BATCH_LOCK_MIN_US). A call that cannot run is
 * answered (is_done) with why. */
void sl_batch_prepare(executor_t *ex, job_t *j);

/* Notes that def computed once in duration_us (ex->cost_us: an average
 * over about its last 8). */
void sl_batch_note_cost(executor_t *ex, const sl_task_def_t *def,
                        uint64_t duration_us);

/* ---- exec_program.c ---- */

/* For a program task: parses its call, finds its program and checks it
 * against the --exec rules; then appends ["$program", digest] to files.
 * A call that cannot run is answered (is_done) with why. */
void sl_batch_prepare_program(executor_t *ex, job_t *j, sl_value_t *files);

/* Runs j's program in a working folder of its own (removed after it):
 * its value, or a failure that says the exit status or signal and the
 * tail of its standard error. Sets j->outcome (not the cache side). */
void sl_batch_run_program(executor_t *ex, job_t *j);

/* ---- exec_cache.c ---- */

/* One pipelined lookup per cache for the jobs of jobs[0..n) that want
 * one: small batches take the misses' locks in the same round trip. A hit
 * is checked (entry.h, and --trust) before it answers its job. */
void sl_batch_lookup(executor_t *ex, job_t *jobs, size_t n);

/* Before computing the misses: one pipelined lock per cache for those not
 * locked yet. A key another worker holds is marked contended. */
void sl_batch_lock_misses(executor_t *ex, job_t *jobs, size_t n);

/* A contended job waits while another worker computes its key (a lock
 * poll, up to SL_BATCH_LOCK_MS). True if the entry arrived (j is
 * answered); false to compute it here. */
bool sl_batch_wait_for_peer(const executor_t *ex, job_t *j);

/* A computed value is encoded into j->entry for the next store, with the
 * task's TTL; or the outcome says why it will not be stored. */
void sl_batch_encode_entry(executor_t *ex, job_t *j, uint64_t duration_us);

/* sl_batch_encode_entry, or, when nothing its encoding finds could change
 * the answer (a storable TTL, and a value and call too small for the
 * entry to reach the cap), the same left for sl_batch_encode_due, after
 * the answer: the key's digests and the entry (and its signature) are off
 * the answer's path. */
void sl_batch_plan_entry(executor_t *ex, job_t *j, uint64_t duration_us);

/* Encodes the entries sl_batch_plan_entry left, for the store that
 * follows; one that cannot be is logged (the answer has gone). */
void sl_batch_encode_due(executor_t *ex, job_t **jobs, size_t n);

/* Stores the encoded entries of jobs[0..n) and releases their locks, in
 * one pipelined round trip per cache (both halves below). */
void sl_batch_store(executor_t *ex, job_t **jobs, size_t n);

/* sl_batch_store in two halves, sent after the answers went and waited
 * for before the next use of a cache (docs/CACHING.md, "An answer does
 * not wait for its store"): a failure of either is logged and counted in
 * the round trips (/metrics), and changes no answer. */
void sl_batch_store_send(executor_t *ex, job_t **jobs, size_t n);
void sl_batch_store_wait(executor_t *ex);

#endif
