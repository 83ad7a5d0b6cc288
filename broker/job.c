/* broker/job.c: the job state machine: which changes of state are legal
 * (the job table of docs/ARCHITECTURE.md) and the one function that makes
 * them. Owned by the broker loop thread. Never queues, sends or frees. */
#include "job.h"

#include "invariant.h"
#include "run.h"

#include <stdio.h>

/* allowed[from] has bit `to` set when from -> to is legal. */
#define TO(s) (1u << (s))
static const unsigned allowed[] = {
    [SL_JOB_NEW] = TO(SL_JOB_QUEUED) | TO(SL_JOB_FOLLOWING) | TO(SL_JOB_DONE),
    [SL_JOB_QUEUED] =
        TO(SL_JOB_RUNNING) | TO(SL_JOB_FAILED) | TO(SL_JOB_CANCELLED),
    [SL_JOB_DELAYED] = TO(SL_JOB_QUEUED) | TO(SL_JOB_CANCELLED),
    [SL_JOB_FOLLOWING] = TO(SL_JOB_DONE) | TO(SL_JOB_QUEUED) |
                         TO(SL_JOB_FOLLOWING) | TO(SL_JOB_CANCELLED),
    [SL_JOB_RUNNING] = TO(SL_JOB_DONE) | TO(SL_JOB_DELAYED) |
                       TO(SL_JOB_QUEUED) | TO(SL_JOB_FAILED) |
                       TO(SL_JOB_CANCELLED),
    [SL_JOB_DONE] = 0,
    [SL_JOB_FAILED] = 0,
    [SL_JOB_CANCELLED] = 0,
};

bool
sl_job_may_enter(sl_job_state_t from, sl_job_state_t to)
{
    return from <= SL_JOB_CANCELLED && to <= SL_JOB_CANCELLED &&
           (allowed[from] & TO(to)) != 0;
}

const char *
sl_job_state_name(sl_job_state_t state)
{
    static const char *names[] =
        {[SL_JOB_NEW] = "new",         [SL_JOB_QUEUED] = "queued",
         [SL_JOB_DELAYED] = "delayed", [SL_JOB_FOLLOWING] = "following",
         [SL_JOB_RUNNING] = "running", [SL_JOB_DONE] = "done",
         [SL_JOB_FAILED] = "failed",   [SL_JOB_CANCELLED] = "cancelled"};
    return state <= SL_JOB_CANCELLED ? names[state] : "?";
}

bool
sl_job_is_over(const sl_job_t *job)
{
    return job->state == SL_JOB_DONE || job->state == SL_JOB_FAILED ||
           job->state == SL_JOB_CANCELLED;
}

int
sl_job_enter(sl_job_t *job, sl_job_state_t to)
{
    if (sl_job_may_enter(job->state, to)) {
        job->state = to;
        return 0;
    }
    char why[160];
    snprintf(why, sizeof why, "job %llx: %s -> %s is not a legal change",
             (unsigned long long)job->id, sl_job_state_name(job->state),
             sl_job_state_name(to));
    sl_invariant_broken("broker", "%s", why);
    if (job->run)
        sl_run_break(job->run, why);
    return SL_ESTATE;
}
