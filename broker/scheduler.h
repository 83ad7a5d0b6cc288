/* broker/scheduler.h: ready queues per task and the workers that drain them,
 * with credit flow control: a worker holds at most slots + prefetch jobs.
 * Owned by the broker loop thread. Never frees a job: jobs belong to runs.
 * Knows no wire message: a worker's READY comes as an sl_worker_hello_t. */
#ifndef SL_SCHEDULER_H
#define SL_SCHEDULER_H

#include "job.h"

#include "curve.h"
#include "program.h"

#include <czmq.h>
#include <stdbool.h>

typedef struct sl_sched sl_sched_t;

/* A task a worker serves. */
typedef struct sl_task_name {
    const char *name;
    uint32_t version;
} sl_task_name_t;

/* What a worker says when it says hello (strings borrowed). */
typedef struct sl_worker_hello {
    const char *id; /* its name */
    const char *hostname;
    const char *incarnation; /* changes when its process restarts */
    uint32_t pid;
    uint32_t slots; /* 0 is taken as 1 */
    const sl_task_name_t *tasks;
    size_t task_count;
    char *const *exec_rules; /* --exec rules: the programs it may run */
    size_t exec_rule_count;  /* 0: none */
    const char *exec_path;   /* where it looks bare program names up */
} sl_worker_hello_t;

struct sl_bworker {
    char *id;                    /* the worker's name */
    zframe_t *identity;          /* routing id frame */
    char *hostname;              /* where it runs */
    uint32_t pid;                /* its process id */
    uint32_t slots;              /* executor threads */
    uint32_t in_flight;          /* jobs held */
    char **keys;                 /* queue keys it serves: "name", "name@v" */
    size_t key_count;            /* entries in keys */
    zlistx_t *held;              /* jobs held, in dispatch order */
    char *incarnation;           /* changes when the worker process restarts */
    int64_t last_seen_ms;        /* monotonic time of its last message */
    bool is_draining;            /* stopping: gets no more jobs */
    int64_t leave_at_ms;         /* it said goodbye holding jobs, whose
                                    answers may still be on its lanes: it
                                    is dropped then (monotonic), or once
                                    it holds none; 0: it did not */
    bool is_solo;                /* runs a suspect job: gets no more jobs */
    uint64_t avg_task_us;        /* moving average of its tasks' compute time */
    bool has_avg;                /* avg_task_us holds a measure */
    uint64_t done;               /* results taken from it */
    uint64_t cache_errors;       /* of which its cache failed */
    char key[SL_CURVE_KEY_TEXT]; /* the CURVE key it said READY with, Z85;
                                    "" in the clear */
    char **exec_rules;           /* its --exec rules, owned */
    size_t exec_rule_count;      /* entries in exec_rules */
    char *exec_path;             /* where it finds bare program names */
};

sl_sched_t *sl_sched_new(uint32_t prefetch);
void sl_sched_destroy(sl_sched_t **p);

/* Room for any queue key: a task's, or a program task's ("exec:PROGRAM"). */
#define SL_QUEUE_KEY_BYTES (SL_PROGRAM_NAME_MAX_BYTES + 16)

/* The queue key of a task: "name" (any version) or "name@version". */
void sl_sched_key(char *out, size_t size, const char *task, uint32_t version);

/* Queues job under key (at the back, or the front for a requeue): it is
 * QUEUED from now on. Returns whether a connected worker serves the key.
 * A job whose state may not become QUEUED is left as it is (its run is
 * broken: job.h). */
bool sl_sched_enqueue(sl_sched_t *s, sl_job_t *job, const char *key,
                      bool at_front);

/* Holds job DELAYED until due_ms (monotonic), then queues it under key at
 * the back (sl_sched_release_due). */
void sl_sched_delay(sl_sched_t *s, sl_job_t *job, const char *key,
                    int64_t due_ms);

/* Queues every delayed job that is due; returns how many. */
size_t sl_sched_release_due(sl_sched_t *s, int64_t now_ms);

/* Milliseconds until the next delayed job is due (0 if one is), or -1 if
 * none waits. */
int64_t sl_sched_next_due(const sl_sched_t *s, int64_t now_ms);

/* Coalescing: the job in flight with job's identity, or NULL; make job
 * the one for its identity; forget it (only if it is still the one). The
 * table keys on the job's own identity bytes: a job leads only while it
 * lives. */
sl_job_t *sl_sched_leader(sl_sched_t *s, const sl_job_t *job);
void sl_sched_lead(sl_sched_t *s, sl_job_t *job);
void sl_sched_unlead(sl_sched_t *s, sl_job_t *job);

/* Takes a queued or delayed job out of its queue (its state is the
 * caller's to change next). */
void sl_sched_dequeue(sl_sched_t *s, sl_job_t *job);

/* Registers a worker from its hello under its routing id. NULL when
 * memory runs out. The caller forgets any worker known by that routing
 * id first (sl_sched_remove_worker). */
sl_bworker_t *sl_sched_add_worker(sl_sched_t *s, zframe_t *identity,
                                  const sl_worker_hello_t *hello);

/* w's process speaks on a new connection from now on: identity is its
 * routing id. 0, SL_EEXIST (another worker has it) or SL_ENOMEM (w
 * unchanged either way). */
int sl_sched_rebind_worker(sl_sched_t *s, sl_bworker_t *w, zframe_t *identity);

/* The worker with this routing id, or NULL. */
sl_bworker_t *sl_sched_find_worker(sl_sched_t *s, zframe_t *identity);

/* Forgets a worker (freeing it); the jobs it held are no longer held and
 * are appended to released (if not NULL), oldest first, in their states:
 * the caller gives each back to its run (sl_run_job_lost). */
void sl_sched_remove_worker(sl_sched_t *s, sl_bworker_t *w, zlistx_t *released);

/* Dispatch rounds: sl_sched_round starts one; sl_sched_took_spread says
 * whether a take since then gave a worker a load share, which it gives
 * one at a time (so another round is due). */
void sl_sched_round(sl_sched_t *s);
bool sl_sched_took_spread(const sl_sched_t *s);

/* Takes up to max jobs that w can run, oldest first (no more than w's
 * fair share of the queued and held jobs, less what it holds, and at least
 * its slots when it holds none), and marks them RUNNING with w as holder;
 * at most one load share (a spread queue's job). Returns how many. A suspect
 * job at the front of one of w's queues is taken only by an idle worker, alone;
 * until then w takes nothing, so that it drains. */
size_t sl_sched_take(sl_sched_t *s, sl_bworker_t *w, sl_job_t **out,
                     size_t max);

/* How many more jobs w may hold: slots, plus a prefetch of at least the
 * configured one, grown for short tasks to about SL_SCHED_QUEUE_US of
 * queued work per slot (at most SL_SCHED_PREFETCH_MAX), so that trivial
 * tasks travel in large batches while long ones are not hoarded. */
#define SL_SCHED_QUEUE_US     10000
#define SL_SCHED_PREFETCH_MAX 1024
uint32_t sl_sched_credit(const sl_sched_t *s, const sl_bworker_t *w);

/* A result from w took duration_us to compute: updates w's average. */
void sl_sched_took(sl_bworker_t *w, uint64_t duration_us);

/* A job's holder gave it back (result or failure): w's credit grows. */
void sl_sched_release(sl_sched_t *s, sl_job_t *job);

/* For status: the workers, and per queue key its depth and the workers
 * that serve it. */
zlistx_t *sl_sched_workers(sl_sched_t *s);
/* How many jobs wait and run, for /metrics. */
typedef struct sl_sched_counts {
    size_t queued;  /* in the ready queues */
    size_t delayed; /* waiting out a retry delay */
    size_t held;    /* sent to workers, not answered yet */
    size_t queues;  /* ready queues (task keys with jobs waiting) */
} sl_sched_counts_t;
void sl_sched_counts(const sl_sched_t *s, sl_sched_counts_t *out);

/* Calls fn for each queue: its key, the jobs waiting in it, how many
 * connected workers serve it, and its oldest job (NULL if none). */
typedef void (*sl_sched_queue_fn)(const char *key, size_t depth, size_t workers,
                                  sl_job_t *oldest, void *ctx);
void sl_sched_each_queue(sl_sched_t *s, sl_sched_queue_fn fn, void *ctx);

/* Appends to out every queued job whose queue no connected worker serves
 * and that was queued before queued_before_ms (monotonic). */
void sl_sched_unserved(sl_sched_t *s, int64_t queued_before_ms, zlistx_t *out);

#endif
