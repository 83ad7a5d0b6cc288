/* broker/run.h: one submission of a flow: its nodes' states, its jobs, the
 * DAG walk (a node is expanded into jobs once everything it references is
 * done; a mapped node into one job per element), the clients that follow
 * it and the events it owes them. Owned by the broker loop thread. Sends
 * nothing and knows no wire message: broker.c sends what it collects,
 * converted by run_wire.c. Every change of a node's state goes through one
 * function that refuses the changes docs/ARCHITECTURE.md does not list. */
#ifndef SL_RUN_H
#define SL_RUN_H

#include "buf.h"
#include "flow.h"
#include "job.h"
#include "outcome.h"
#include "scheduler.h"

typedef enum {
    SL_NODE_PENDING, /* waiting for what it references */
    SL_NODE_RUNNING, /* expanded into jobs */
    SL_NODE_DONE,    /* every job succeeded */
    SL_NODE_FAILED   /* a job failed, something it references did, or
                        the run was cancelled */
} sl_node_state_t;

typedef enum {
    SL_RUN_RUNNING,  /* some node is not finished */
    SL_RUN_DONE,     /* every node is DONE */
    SL_RUN_FAILED,   /* some node FAILED */
    SL_RUN_CANCELLED /* cancelled before it finished */
} sl_run_state_t;

/* What a client following a run is told, one per task event (the kinds
 * are the client API's, <sluice/client.h>). */
typedef struct sl_run_event {
    sl_event_kind_t kind;
    uint32_t node;            /* index in the flow */
    uint32_t index;           /* element of a mapped node, else 0 */
    char *worker_id;          /* owned; NULL: none */
    char *error;              /* owned; NULL: none */
    sl_cache_outcome_t cache; /* DONE, CACHED: what the cache did */
    char *cache_error;        /* owned; NULL: none */
    char *cache_key;          /* DONE, CACHED: its key, owned; NULL */
    uint64_t duration_us;     /* DONE: compute time */
    uint32_t total;           /* jobs of the run known so far */
    uint32_t done;            /* of which finished */
    sl_value_t *value;        /* PROGRESS: what the task reported, owned */
} sl_run_event_t;

/* What the last failed attempt of a task wrote (a program task's). */
typedef struct sl_run_logs {
    uint32_t attempt; /* which attempt */
    char *error;      /* how it failed, owned */
    char *worker_id;  /* where it ran, owned */
    sl_buf_t out;     /* the end of its standard output */
    sl_buf_t err;     /* the end of its standard error */
} sl_run_logs_t;

/* Keeps what a failed attempt of job wrote, in place of an earlier one's,
 * while the run is kept (compacting it keeps them too). Past
 * SL_RUN_LOGS_MAX_BYTES for the run, later ones are dropped (logged). */
void sl_run_keep_logs(sl_run_t *run, const sl_job_t *job, uint32_t attempt,
                      const char *error, const char *worker_id, const void *out,
                      size_t out_size, const void *err, size_t err_size);

/* The logs of node (index in the flow) element index, or NULL. */
const sl_run_logs_t *sl_run_logs(const sl_run_t *run, uint32_t node,
                                 uint32_t index);

/* A node as a result or status reports it (borrowing from the run). */
typedef struct sl_node_report {
    const char *name;
    sl_node_state_t state;
    const sl_value_t *value; /* DONE: its value (a mapped node: the list);
                                NULL once compacted */
    const char *error;       /* FAILED: why; "" otherwise */
    uint32_t tasks;          /* jobs it expanded into */
    uint32_t cached;         /* of which served from the cache */
    uint32_t failed;         /* of which failed for good */
    uint64_t duration_us;    /* compute time over its jobs */
    uint32_t cache_errors;   /* jobs whose cache failed */
    const char *cache_error; /* the first such failure; "" */
    uint32_t errors;         /* failed attempts: the code failed */
    uint32_t timeouts;       /* failed attempts: past the timeout */
    uint32_t deaths;         /* attempts lost with a dead worker */
} sl_node_report_t;

/* The run as `sluice status` lists it (borrowing from the run). */
typedef struct sl_run_summary {
    const char *run_id;
    const char *flow;
    sl_run_state_t state;
    uint32_t tasks;       /* jobs known so far */
    uint32_t done;        /* succeeded */
    uint32_t cached;      /* of which from the cache */
    uint32_t failed;      /* failed for good */
    int64_t submitted_ms; /* unix time the broker accepted it */
    int64_t finished_ms;  /* unix time it finished; 0 while running */
} sl_run_summary_t;

typedef struct sl_run_config {
    uint32_t seq;            /* broker-unique, the high half of job ids */
    sl_flow_t *flow;         /* taken over by the run */
    sl_value_t *params;      /* MAP of parameter values, taken over */
    zframe_t *client;        /* routing id of the submitter, copied; NULL
                                while no client follows it (a replay) */
    bool wants_events;       /* stream job events to its followers */
    const char *run_id;      /* a replayed run's id; NULL: a new one */
    int64_t submitted_ms;    /* a replayed run's; 0: now */
    uint64_t worker_wait_ms; /* see sl_run_worker_wait_ms */
    bool is_unlisted;        /* not listed in status, not kept finished */
} sl_run_config_t;

/* Clients that may follow one run at once (the submitter and watchers). */
#define SL_RUN_FOLLOWERS_MAX 64

/* A new run, not yet started. NULL when memory runs out; cfg->flow and
 * cfg->params are consumed either way. */
sl_run_t *sl_run_new(sl_run_config_t *cfg);
void sl_run_destroy(sl_run_t **p);

/* A replayed result of element index of node: when the node is expanded,
 * that job is done at once instead of dispatched. *value is consumed. */
void sl_run_recover(sl_run_t *run, uint32_t node, uint32_t index,
                    sl_value_t **value);

/* client (copied) follows the run from now on: its events and result go to
 * every follower. 0, SL_ETOOBIG past SL_RUN_FOLLOWERS_MAX, or SL_ENOMEM.
 * A client that follows it already is not added twice. */
int sl_run_follow(sl_run_t *run, zframe_t *client);
/* client no longer follows (it went away); NULL: nobody does. */
void sl_run_unfollow(sl_run_t *run, zframe_t *client);
/* The followers, oldest first (borrowed). */
size_t sl_run_follower_count(const sl_run_t *run);
zframe_t *sl_run_follower(const sl_run_t *run, size_t i);

/* While a run is unconfirmed (its Accepted waits for the journal to reach
 * the disk) its events and result are held back, not dropped. */
void sl_run_set_unconfirmed(sl_run_t *run, bool is_unconfirmed);
bool sl_run_is_unconfirmed(const sl_run_t *run);
/* Monotonic time (ms) of the last sl_run_set_unconfirmed(run, true). */
int64_t sl_run_unconfirmed_since(const sl_run_t *run);

/* Expands every node that references nothing and queues its jobs. */
void sl_run_start(sl_run_t *run, sl_sched_t *sched);

/* A job was sent to worker_id. */
void sl_run_job_started(sl_run_t *run, sl_job_t *job, const char *worker_id);

/* The outcome of job's current attempt arrived from its holder; *value
 * (may be NULL) is consumed. The job is released from its worker. Advances
 * the DAG and queues what became ready. A cancelled job's late outcome is
 * dropped. */
void sl_run_job_result(sl_run_t *run, sl_sched_t *sched, sl_job_t *job,
                       const sl_outcome_t *o, sl_value_t **value,
                       const char *worker_id);

/* job (FOLLOWING) gets the result of the identical job it followed; it is
 * counted as served from the cache. *value is consumed. */
void sl_run_job_shared(sl_run_t *run, sl_sched_t *sched, sl_job_t *job,
                       sl_value_t **value, const char *worker_id);

/* A worker that died after this many held a job makes it fail as poison. */
#define SL_POISON_DEATHS 3
/* Retry delays double up to this. */
#define SL_RETRY_DELAY_MAX_MS 60000

/* job's worker no longer holds it (why says how): it goes to the front of
 * its queue, unless is_death and it has now outlived SL_POISON_DEATHS
 * workers: then it fails as poison. */
void sl_run_job_lost(sl_run_t *run, sl_sched_t *sched, sl_job_t *job,
                     const char *why, bool is_death);

/* job (QUEUED) has waited longer than its run allows for a worker that
 * serves its task: it fails for good with why, and so does its node. */
void sl_run_job_give_up(sl_run_t *run, sl_sched_t *sched, sl_job_t *job,
                        const char *why);

/* Whether the run is left out of status and forgotten once finished
 * (sluice bench's runs). */
bool sl_run_is_unlisted(const sl_run_t *run);

/* How long the run's jobs wait for a worker that serves their task before
 * they fail (ms); 0: for ever. */
uint64_t sl_run_worker_wait_ms(const sl_run_t *run);

/* Ends the run as CANCELLED: queued and following jobs are dropped,
 * running ones are CANCELLED (a late result is dropped) and, if held is
 * not NULL, appended to it (the broker tells their workers); unfinished
 * nodes fail with reason. Nothing if the run has finished. */
void sl_run_cancel(sl_run_t *run, sl_sched_t *sched, const char *reason,
                   zlistx_t *held);

/* A broken invariant (job.c, or this run's own) marks the run broken: its
 * next settle fails every unfinished node with why, so it ends rather than
 * hangs. The first why is kept. */
void sl_run_break(sl_run_t *run, const char *why);
/* Fails a broken run's unfinished nodes; nothing for a sound one. */
void sl_run_settle(sl_run_t *run, sl_sched_t *sched);

/* The job with this index, or NULL. */
sl_job_t *sl_run_job(sl_run_t *run, uint32_t index);

const char *sl_run_id(const sl_run_t *run);
const sl_flow_t *sl_run_flow(const sl_run_t *run);
uint32_t sl_run_seq(const sl_run_t *run);
sl_run_state_t sl_run_state(const sl_run_t *run);
sl_node_state_t sl_run_node_state(const sl_run_t *run, uint32_t node);
bool sl_run_is_finished(const sl_run_t *run);

/* True once, the first time it is asked after the run finished. */
bool sl_run_take_finish(sl_run_t *run);
/* Whether sl_run_take_finish said so already: its result went out. */
bool sl_run_is_reported(const sl_run_t *run);

/* A running job's figures so far (Progress from its worker): an event
 * for the followers, taking *value; dropped if job is not running. */
void sl_run_job_progress(sl_run_t *run, const sl_job_t *job, sl_value_t **value,
                         const char *worker_id);

/* The pending events (borrowed until sl_run_events_sent frees them). */
size_t sl_run_events(const sl_run_t *run, const sl_run_event_t **events);
void sl_run_events_sent(sl_run_t *run);

/* Node n as a result reports it (borrowing from the run). */
void sl_run_node_report(const sl_run_t *run, uint32_t n, sl_node_report_t *out);
/* The run as status lists it (borrowing from the run). */
void sl_run_summary(const sl_run_t *run, sl_run_summary_t *out);
/* The name of a run state ("running", "done", "failed", "cancelled"). */
const char *sl_run_state_name(sl_run_state_t state);

/* Monotonic time (zclock_usecs) the run was made: submitted, or resumed
 * from the journal. */
int64_t sl_run_started_us(const sl_run_t *run);

/* Whether a worker still holds one of its jobs (the run must outlive it). */
bool sl_run_is_held(const sl_run_t *run);

/* Frees what only the result needed (node values, the parameters),
 * keeping the summary: every job too, unless a worker still holds one. */
void sl_run_compact(sl_run_t *run);

#endif
