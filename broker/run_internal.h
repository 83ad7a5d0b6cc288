/* broker/run_internal.h: the fields of a run, shared by the two files that
 * make it up: run.c (the object: life, followers, events, reports) and
 * dag.c (the DAG walk: node states, expansion, job outcomes, cancel).
 * Nothing else includes this; everyone else goes through run.h. */
#ifndef SL_RUN_INTERNAL_H
#define SL_RUN_INTERNAL_H

#include "run.h"

typedef struct {
    sl_node_state_t state; /* where the node is: see node_enter */
    uint32_t deps_left;    /* distinct nodes it waits for */
    uint32_t *dependents;  /* distinct nodes that wait for it */
    uint32_t dependent_count;
    uint32_t first_job; /* its jobs are [first_job, +job_count) */
    uint32_t job_count;
    sl_job_t *slab;                    /* those jobs, one allocation, owned */
    bool has_settings;                 /* settings is made */
    uint8_t settings[SL_DIGEST_BYTES]; /* digest of its cache settings */
    uint32_t done_count;               /* jobs succeeded */
    uint32_t cached_count;             /* of which served from the cache */
    uint32_t failed_count;             /* jobs failed */
    sl_value_t *value;                 /* result once DONE, owned */
    char *error;                       /* why it FAILED, owned */
    uint64_t duration_us;              /* compute time over its jobs */
    uint32_t cache_errors;             /* jobs whose cache failed */
    uint32_t errors;   /* failed attempts: code failed or crashed */
    uint32_t timeouts; /* failed attempts: past the timeout */
    uint32_t deaths;   /* attempts lost with a dead worker */
    char *cache_error; /* the first such failure, owned */
} node_state_t;

struct sl_run {
    char id[17];                               /* 16 hex digits */
    uint32_t seq;                              /* high half of job ids */
    sl_flow_t *flow;                           /* owned */
    sl_value_t *params;                        /* MAP, owned */
    zframe_t *followers[SL_RUN_FOLLOWERS_MAX]; /* routing ids, owned */
    size_t follower_count;
    bool wants_events;       /* stream events */
    node_state_t *nodes;     /* one per flow node */
    uint32_t nodes_finished; /* DONE or FAILED */
    bool has_failed;         /* some node FAILED */
    bool is_cancelled;       /* sl_run_cancel ended it */
    char *broken;            /* a broken invariant, owned; NULL: sound */
    bool is_abandoned;       /* broken, and settled as over */
    sl_job_t **jobs;         /* job_count jobs (in the nodes' slabs); NULL
                                once freed after the run finished */
    uint32_t job_count;
    uint32_t job_cap;
    uint32_t jobs_done;     /* succeeded */
    uint32_t jobs_cached;   /* of which from the cache */
    uint32_t jobs_failed;   /* failed for good */
    sl_run_event_t *events; /* pending for the followers, owned */
    size_t event_count;
    size_t event_cap;
    uint32_t *ready;         /* nodes whose references are all done */
    uint32_t ready_count;    /* (each node enters at most once) */
    bool is_reported;        /* the final result went out */
    bool is_unconfirmed;     /* Accepted not sent yet: its news waits */
    int64_t unconfirmed_ms;  /* monotonic time it became unconfirmed */
    int64_t started_us;      /* monotonic time it was made (submitted, or
                                resumed from the journal) */
    int64_t submitted_ms;    /* unix time it was first accepted */
    int64_t finished_ms;     /* unix time it finished; 0 while running */
    uint64_t worker_wait_ms; /* a job no worker serves fails after it */
    bool is_unlisted;        /* left out of status, not kept finished */
    zhashx_t *recovered;     /* "node:index" -> replayed result (values
                                owned by the run, not by the hash) */
    zhashx_t *logs;          /* "node:index" -> sl_run_logs_t of its last
                                failed attempt, owned (run_logs.c) */
    size_t log_bytes;        /* what they hold, within
                                SL_RUN_LOGS_MAX_BYTES */
};

/* Appends an event for job (NULL: the node as a whole) of node; strings
 * are copied. Returns it for more fields, or NULL if events are not
 * wanted or memory ran out (an event is progress information: dropped). */
sl_run_event_t *sl_run_emit(sl_run_t *run, const sl_job_t *job, uint32_t node,
                            sl_event_kind_t kind, const char *worker_id,
                            const char *error);

/* The run has finished (every node DONE or FAILED): notes the time. */
void sl_run_mark_finished(sl_run_t *run);

#endif
