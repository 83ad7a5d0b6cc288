/* broker/run.c: a run as an object: made and freed, the clients that follow
 * it, the events it owes them, and what it reports (node results, status).
 * The DAG walk is dag.c's. Owned by the broker loop thread. Frees its jobs
 * only when compacted after it finished with none held, or destroyed, so a
 * job pointer held by a worker record stays valid while the run lives. */
#include "run_internal.h"

#include "random_id.h"

#include "invariant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static int64_t
unix_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

typedef struct {
    sl_run_t *run;  /* the run */
    uint32_t node;  /* whose references are being linked */
    bool is_failed; /* memory ran out */
} link_t;

static void
link_dep(size_t dep, void *ctx)
{
    link_t *l = ctx;
    node_state_t *d = &l->run->nodes[dep];
    for (uint32_t i = 0; i < d->dependent_count; i++)
        if (d->dependents[i] == l->node)
            return; /* referenced twice: counted once */
    uint32_t *grown =
        realloc(d->dependents, (d->dependent_count + 1) * sizeof *grown);
    if (!grown) {
        l->is_failed = true;
        return;
    }
    d->dependents = grown;
    d->dependents[d->dependent_count++] = l->node;
    l->run->nodes[l->node].deps_left++;
}

sl_run_t *
sl_run_new(sl_run_config_t *cfg)
{
    sl_run_t *run = calloc(1, sizeof *run);
    sl_flow_t *flow = cfg->flow;
    sl_value_t *params = cfg->params;
    cfg->flow = NULL;
    cfg->params = NULL;
    if (!run) {
        sl_flow_destroy(&flow);
        sl_value_destroy(&params);
        return NULL;
    }
    run->flow = flow;
    run->params = params;
    run->seq = cfg->seq;
    run->wants_events = cfg->wants_events;
    run->worker_wait_ms = cfg->worker_wait_ms;
    run->is_unlisted = cfg->is_unlisted;
    run->started_us = zclock_usecs();
    run->submitted_ms = cfg->submitted_ms ? cfg->submitted_ms : unix_ms();
    run->recovered = zhashx_new();
    run->nodes = calloc(flow->node_count, sizeof *run->nodes);
    run->ready = calloc(flow->node_count, sizeof *run->ready);
    if (cfg->run_id)
        snprintf(run->id, sizeof run->id, "%.16s", cfg->run_id);
    else
        sl_random_id(run->id, 8);
    link_t l = {run, 0, false};
    for (uint32_t i = 0; run->nodes && i < flow->node_count; i++) {
        l.node = i;
        sl_flow_deps(flow, i, link_dep, &l);
    }
    if (!run->nodes || !run->ready || !run->recovered || !run->id[0] ||
        l.is_failed || (cfg->client && sl_run_follow(run, cfg->client) < 0))
        sl_run_destroy(&run);
    return run;
}

/* Frees every job (none may be referenced any more: no worker holds one,
 * none is queued, leads or follows). */
static void
free_jobs(sl_run_t *run)
{
    for (uint32_t i = 0; run->jobs && i < run->job_count; i++) {
        sl_value_destroy(&run->jobs[i]->args);
        sl_value_destroy(&run->jobs[i]->inputs);
        sl_value_destroy(&run->jobs[i]->value);
        zlistx_destroy(&run->jobs[i]->followers);
    }
    free(run->jobs);
    run->jobs = NULL;
    for (size_t i = 0; run->nodes && i < run->flow->node_count; i++) {
        free(run->nodes[i].slab);
        run->nodes[i].slab = NULL;
    }
}

void
sl_run_destroy(sl_run_t **p)
{
    if (!p || !*p)
        return;
    sl_run_t *run = *p;
    sl_run_events_sent(run);
    free(run->events);
    free_jobs(run);
    for (size_t i = 0; run->nodes && i < run->flow->node_count; i++) {
        free(run->nodes[i].dependents);
        sl_value_destroy(&run->nodes[i].value);
        free(run->nodes[i].error);
        free(run->nodes[i].cache_error);
    }
    free(run->nodes);
    free(run->ready);
    for (sl_value_t *v = run->recovered ? zhashx_first(run->recovered) : NULL;
         v; v = zhashx_next(run->recovered))
        sl_value_destroy(&v);
    zhashx_destroy(&run->recovered);
    zhashx_destroy(&run->logs);
    for (size_t i = 0; i < run->follower_count; i++)
        zframe_destroy(&run->followers[i]);
    free(run->broken);
    sl_flow_destroy(&run->flow);
    sl_value_destroy(&run->params);
    free(run);
    *p = NULL;
}

const char *
sl_run_id(const sl_run_t *run)
{
    return run->id;
}

int
sl_run_follow(sl_run_t *run, zframe_t *client)
{
    for (size_t i = 0; i < run->follower_count; i++)
        if (zframe_eq(run->followers[i], client))
            return 0;
    if (run->follower_count == SL_RUN_FOLLOWERS_MAX)
        return SL_ETOOBIG;
    zframe_t *copy = zframe_dup(client);
    if (!copy)
        return SL_ENOMEM;
    run->followers[run->follower_count++] = copy;
    return 0;
}

void
sl_run_unfollow(sl_run_t *run, zframe_t *client)
{
    size_t kept = 0;
    for (size_t i = 0; i < run->follower_count; i++) {
        if (!client || zframe_eq(run->followers[i], client))
            zframe_destroy(&run->followers[i]);
        else
            run->followers[kept++] = run->followers[i];
    }
    run->follower_count = kept;
}

size_t
sl_run_follower_count(const sl_run_t *run)
{
    return run->follower_count;
}

zframe_t *
sl_run_follower(const sl_run_t *run, size_t i)
{
    return i < run->follower_count ? run->followers[i] : NULL;
}

void
sl_run_set_unconfirmed(sl_run_t *run, bool is_unconfirmed)
{
    run->is_unconfirmed = is_unconfirmed;
    if (is_unconfirmed)
        run->unconfirmed_ms = zclock_mono();
}

int64_t
sl_run_unconfirmed_since(const sl_run_t *run)
{
    return run->unconfirmed_ms;
}

bool
sl_run_is_unconfirmed(const sl_run_t *run)
{
    return run->is_unconfirmed;
}

const sl_flow_t *
sl_run_flow(const sl_run_t *run)
{
    return run->flow;
}

uint32_t
sl_run_seq(const sl_run_t *run)
{
    return run->seq;
}

bool
sl_run_is_finished(const sl_run_t *run)
{
    return run->nodes_finished == run->flow->node_count || run->is_abandoned;
}

sl_run_state_t
sl_run_state(const sl_run_t *run)
{
    if (!sl_run_is_finished(run))
        return SL_RUN_RUNNING;
    if (run->is_cancelled)
        return SL_RUN_CANCELLED;
    return run->has_failed || run->is_abandoned ? SL_RUN_FAILED : SL_RUN_DONE;
}

const char *
sl_run_state_name(sl_run_state_t state)
{
    static const char *names[] = {"running", "done", "failed", "cancelled"};
    return state <= SL_RUN_CANCELLED ? names[state] : "?";
}

sl_node_state_t
sl_run_node_state(const sl_run_t *run, uint32_t node)
{
    return run->nodes[node].state;
}

bool
sl_run_is_unlisted(const sl_run_t *run)
{
    return run->is_unlisted;
}

uint64_t
sl_run_worker_wait_ms(const sl_run_t *run)
{
    return run->worker_wait_ms;
}

sl_job_t *
sl_run_job(sl_run_t *run, uint32_t index)
{
    return run->jobs && index < run->job_count ? run->jobs[index] : NULL;
}

void
sl_run_break(sl_run_t *run, const char *why)
{
    if (!run->broken)
        run->broken = strdup(why ? why : "broken invariant");
    if (!run->broken) /* no memory even for that: still end it */
        run->is_abandoned = true;
}

void
sl_run_mark_finished(sl_run_t *run)
{
    if (!run->finished_ms)
        run->finished_ms = unix_ms();
}

/* ---- events ----------------------------------------------------------- */

static char *
copy_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

sl_run_event_t *
sl_run_emit(sl_run_t *run, const sl_job_t *job, uint32_t node,
            sl_event_kind_t kind, const char *worker_id, const char *error)
{
    if (!run->wants_events)
        return NULL;
    if (run->event_count == run->event_cap) {
        size_t cap = run->event_cap ? run->event_cap * 2 : 64;
        sl_run_event_t *grown = realloc(run->events, cap * sizeof *grown);
        if (!grown)
            return NULL;
        run->events = grown;
        run->event_cap = cap;
    }
    sl_run_event_t *e = &run->events[run->event_count++];
    *e = (sl_run_event_t){.kind = kind,
                          .node = node,
                          .index = job ? job->index : 0,
                          .worker_id = copy_or_null(worker_id),
                          .error = copy_or_null(error),
                          .total = run->job_count,
                          .done = run->jobs_done + run->jobs_failed};
    return e;
}

void
sl_run_job_progress(sl_run_t *run, const sl_job_t *job, sl_value_t **value,
                    const char *worker_id)
{
    sl_run_event_t *e = job->state == SL_JOB_RUNNING
                            ? sl_run_emit(run, job, job->node,
                                          SL_EVENT_PROGRESS, worker_id, NULL)
                            : NULL;
    if (e) {
        e->value = *value;
        *value = NULL;
    }
    sl_value_destroy(value);
}

size_t
sl_run_events(const sl_run_t *run, const sl_run_event_t **events)
{
    *events = run->events;
    return run->event_count;
}

/* Event storage past this many is given back once sent: a wide map's
 * burst does not stay allocated for the run's life. */
#define EVENTS_KEPT 64

void
sl_run_events_sent(sl_run_t *run)
{
    for (size_t i = 0; i < run->event_count; i++) {
        free(run->events[i].worker_id);
        free(run->events[i].error);
        free(run->events[i].cache_error);
        free(run->events[i].cache_key);
        sl_value_destroy(&run->events[i].value);
    }
    run->event_count = 0;
    if (run->event_cap > EVENTS_KEPT) {
        free(run->events);
        run->events = NULL;
        run->event_cap = 0;
    }
}

/* ---- reports ----------------------------------------------------------- */

void
sl_run_node_report(const sl_run_t *run, uint32_t n, sl_node_report_t *out)
{
    const node_state_t *ns = &run->nodes[n];
    *out = (sl_node_report_t){.name = run->flow->nodes[n].name,
                              .state = ns->state,
                              .value = ns->value,
                              .error = ns->error ? ns->error : "",
                              .tasks = ns->job_count,
                              .cached = ns->cached_count,
                              .failed = ns->failed_count,
                              .duration_us = ns->duration_us,
                              .cache_errors = ns->cache_errors,
                              .cache_error =
                                  ns->cache_error ? ns->cache_error : "",
                              .errors = ns->errors,
                              .timeouts = ns->timeouts,
                              .deaths = ns->deaths};
    if (run->is_abandoned && !*out->error &&
        (ns->state == SL_NODE_PENDING || ns->state == SL_NODE_RUNNING))
        out->error = run->broken ? run->broken : "broken invariant";
}

void
sl_run_summary(const sl_run_t *run, sl_run_summary_t *out)
{
    *out = (sl_run_summary_t){.run_id = run->id,
                              .flow = run->flow->name,
                              .state = sl_run_state(run),
                              .tasks = run->job_count,
                              .done = run->jobs_done,
                              .cached = run->jobs_cached,
                              .failed = run->jobs_failed,
                              .submitted_ms = run->submitted_ms,
                              .finished_ms = run->finished_ms};
}

int64_t
sl_run_started_us(const sl_run_t *run)
{
    return run->started_us;
}

bool
sl_run_is_held(const sl_run_t *run)
{
    for (uint32_t i = 0; run->jobs && i < run->job_count; i++)
        if (run->jobs[i]->worker)
            return true;
    return false;
}

void
sl_run_compact(sl_run_t *run)
{
    for (size_t i = 0; i < run->flow->node_count; i++)
        sl_value_destroy(&run->nodes[i].value);
    sl_value_destroy(&run->params); /* a 20,000-element list kept 1.5 MB */
    if (!sl_run_is_held(run)) {
        free_jobs(run); /* a late result now finds no job, and is dropped */
        return;
    }
    for (uint32_t i = 0; i < run->job_count; i++) {
        sl_value_destroy(&run->jobs[i]->args);
        sl_value_destroy(&run->jobs[i]->inputs);
        sl_value_destroy(&run->jobs[i]->value);
    }
}

bool
sl_run_is_reported(const sl_run_t *run)
{
    return run->is_reported;
}

bool
sl_run_take_finish(sl_run_t *run)
{
    if (!sl_run_is_finished(run) || run->is_reported)
        return false;
    run->is_reported = true;
    return true;
}
