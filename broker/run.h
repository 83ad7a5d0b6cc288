/* broker/run.h: one submission of a flow: its nodes' states, its jobs, the
 * DAG walk (a node is expanded into jobs once everything it references is
 * done; a mapped node into one job per element) and the events it owes its
 * client. Owned by the broker loop thread. Sends nothing: broker.c sends
 * the events and the result it collects. */
#ifndef SL_RUN_H
#define SL_RUN_H

#include "flow.h"
#include "job.h"
#include "scheduler.h"

#include "proto/sluice.pb-c.h"

typedef enum {
    SL_NODE_PENDING,  /* waiting for what it references */
    SL_NODE_RUNNING,  /* expanded into jobs */
    SL_NODE_DONE,     /* every job succeeded */
    SL_NODE_FAILED    /* a job failed, or something it references did */
} sl_node_state_t;

typedef struct sl_run_config {
    uint32_t seq;            /* broker-unique, the high half of job ids */
    sl_flow_t *flow;         /* taken over by the run */
    sl_value_t *params;      /* MAP of parameter values, taken over */
    zframe_t *client;        /* routing id of the submitter, copied; NULL
                                while no client follows it (a replay) */
    bool wants_events;       /* stream job events to the client */
    const char *run_id;      /* a replayed run's id; NULL: a new one */
} sl_run_config_t;

/* A new run, not yet started. NULL when memory runs out; cfg->flow and
 * cfg->params are consumed either way. */
sl_run_t *sl_run_new(sl_run_config_t *cfg);
void sl_run_destroy(sl_run_t **p);

/* A replayed result of element index of node: when the node is expanded,
 * that job is done at once instead of dispatched. *value is consumed. */
void sl_run_recover(sl_run_t *run, uint32_t node, uint32_t index,
                    sl_value_t **value);

/* From now on the run's events and result go to client (copied), or to
 * nobody (NULL). */
void sl_run_set_client(sl_run_t *run, zframe_t *client);

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

/* The result of job's current attempt arrived; *value (may be NULL) is
 * consumed. Advances the DAG and queues what became ready. */
void sl_run_job_result(sl_run_t *run, sl_sched_t *sched, sl_job_t *job,
                       const Sluice__Result *r, sl_value_t **value,
                       const char *worker_id);

/* job (FOLLOWING) gets the result of the identical job it followed; it is
 * counted as served from the cache. *value is consumed. */
void sl_run_job_shared(sl_run_t *run, sl_sched_t *sched, sl_job_t *job,
                       sl_value_t **value, const char *worker_id);

/* job will not produce a result (it failed or was cancelled): it stops
 * leading its identity, and its followers are queued on their own. */
void sl_run_job_ended(sl_sched_t *sched, sl_job_t *job);

/* A worker that died after this many held a job makes it fail as poison. */
#define SL_POISON_DEATHS 3
/* Retry delays double up to this. */
#define SL_RETRY_DELAY_MAX_MS 60000

/* job's worker no longer holds it (why says how): it goes to the front of
 * its queue, unless is_death and it has now outlived SL_POISON_DEATHS
 * workers: then it fails as poison. */
void sl_run_job_lost(sl_run_t *run, sl_sched_t *sched, sl_job_t *job,
                     const char *why, bool is_death);

/* Ends the run: queued jobs are dropped, running ones are ignored when they
 * answer, unfinished nodes fail with reason. */
void sl_run_cancel(sl_run_t *run, sl_sched_t *sched, const char *reason);

/* The job with this index, or NULL. */
sl_job_t *sl_run_job(sl_run_t *run, uint32_t index);

const char *sl_run_id(const sl_run_t *run);
const sl_flow_t *sl_run_flow(const sl_run_t *run);
uint32_t sl_run_seq(const sl_run_t *run);
zframe_t *sl_run_client(const sl_run_t *run);
bool sl_run_is_finished(const sl_run_t *run);
bool sl_run_has_events(const sl_run_t *run);

/* True once, the first time it is asked after the run finished. */
bool sl_run_take_finish(sl_run_t *run);

/* The pending events as an EventBatch (borrowing from the run), then
 * sl_run_events_sent to free them. */
void sl_run_events(sl_run_t *run, Sluice__EventBatch *batch);
void sl_run_events_sent(sl_run_t *run);

/* The final result (borrowing from the run); free with sl_run_result_free. */
Sluice__RunResult *sl_run_result(sl_run_t *run);
void sl_run_result_free(Sluice__RunResult **p);

/* Summary for status (borrowing from the run). */
void sl_run_status(const sl_run_t *run, Sluice__RunStatus *out);

/* Monotonic time (zclock_usecs) the run was made: submitted, or resumed
 * from the journal. */
int64_t sl_run_started_us(const sl_run_t *run);

/* Whether a worker still holds one of its jobs (the run must outlive it). */
bool sl_run_is_held(const sl_run_t *run);

/* Frees what only the result needed, keeping the summary: every job too,
 * unless a worker still holds one. */
void sl_run_compact(sl_run_t *run);

#endif
