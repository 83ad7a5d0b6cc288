/* broker/job.h: one task of a run as the broker tracks it (a "job", so as
 * not to be confused with a task definition on a worker). Owned by its run;
 * queued in scheduler.c while it waits, held by a worker while it runs.
 * Every change of state goes through sl_job_enter, which refuses one the
 * table in docs/ARCHITECTURE.md does not allow. */
#ifndef SL_JOB_H
#define SL_JOB_H

#include "digest.h"
#include "value.h"

#include <czmq.h>

#include <stdbool.h>
#include <stdint.h>

typedef struct sl_run sl_run_t;
typedef struct sl_bworker sl_bworker_t;
typedef struct sl_squeue sl_squeue_t;

typedef enum {
    SL_JOB_NEW,       /* made, not yet placed */
    SL_JOB_QUEUED,    /* waiting for a worker */
    SL_JOB_DELAYED,   /* waiting out a retry delay */
    SL_JOB_FOLLOWING, /* an identical job in flight computes for it */
    SL_JOB_RUNNING,   /* sent to a worker */
    SL_JOB_DONE,      /* succeeded */
    SL_JOB_FAILED,    /* failed */
    SL_JOB_CANCELLED  /* its node or run ended first */
} sl_job_state_t;

typedef struct sl_job {
    uint64_t id;           /* run seq << 32 | index in the run */
    sl_run_t *run;         /* owner */
    uint32_t node;         /* node index in the run's flow */
    uint32_t index;        /* element of a mapped node */
    uint32_t attempt;      /* 1 for the first dispatch */
    uint16_t errors;       /* attempts that failed in the task's code */
    uint16_t timeouts;     /* attempts killed past the node's timeout */
    uint16_t deaths;       /* attempts whose worker died holding it */
    int64_t dispatched_us; /* monotonic time of the last dispatch */
    int64_t due_ms;        /* DELAYED: when it may be queued again */
    sl_job_state_t state;  /* where it is: change it with sl_job_enter */
    bool is_unlisted;      /* RUNNING: its holder's last heartbeat did
                              not list it (lost at the second) */
    bool is_suspect;       /* a worker died holding it: it runs alone, so
                              that a further death is its own */
    sl_value_t *args;      /* resolved args, owned until it ends */
    sl_value_t *inputs;    /* resolved inputs (a LIST), owned until it
                              ends; NULL: none declared */
    sl_value_t *value;     /* result, owned until its node gathers it */
    sl_bworker_t *worker;  /* holder while RUNNING, and after a cancel
                              until the holder answers */
    bool has_identity;     /* coalescable: identity is set */
    uint8_t identity[SL_DIGEST_BYTES]; /* BLAKE2b of task, args and cache
                                          settings */
    struct sl_job *leader; /* FOLLOWING: the identical job in flight */
    uint64_t load_seen[3]; /* a load share: sent, answered and failed as
                              its last report said (/metrics counts the
                              growth) */
    zlistx_t *followers;   /* jobs following this one, owned list */
    int64_t queued_ms;     /* monotonic time it was last queued */
    sl_squeue_t *queue;    /* its ready queue while QUEUED or DELAYED
                              (scheduler.c's) */
    void *queue_handle;    /* its place in that queue (or the delayed
                              list) */
    void *held_handle;     /* zlistx handle in its worker's held list */
} sl_job_t;

/* Whether a job may go from one state to the other. */
bool sl_job_may_enter(sl_job_state_t from, sl_job_state_t to);

/* Moves job to state to. A change the table does not allow is a broken
 * invariant (common/invariant.h): in an unchecked build it is logged, the
 * job's run is marked broken (it fails at its next settle, never hangs)
 * and SL_ESTATE is returned with the job unchanged. 0 otherwise. */
int sl_job_enter(sl_job_t *job, sl_job_state_t to);

/* The state's name, for logs and errors ("queued"). */
const char *sl_job_state_name(sl_job_state_t state);

/* Whether the job has ended (done, failed or cancelled). */
bool sl_job_is_over(const sl_job_t *job);

#endif
