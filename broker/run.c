/* broker/run.c: the life of a run. Owned by the broker loop thread. Frees
 * its jobs only when it is destroyed, so a job pointer held by a worker
 * record stays valid while the run lives. */
#include "run.h"

#include "caps.h"
#include "digest.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sl_node_state_t state;   /* where the node is */
    uint32_t deps_left;      /* distinct nodes it waits for */
    uint32_t *dependents;    /* distinct nodes that wait for it */
    uint32_t dependent_count;
    uint32_t first_job;      /* its jobs are [first_job, +job_count) */
    uint32_t job_count;
    sl_job_t *slab;          /* those jobs, one allocation, owned */
    bool has_settings;       /* settings is made */
    uint8_t settings[SL_DIGEST_BYTES]; /* digest of its cache settings */
    uint32_t done_count;     /* jobs succeeded */
    uint32_t cached_count;   /* of which served from the cache */
    uint32_t failed_count;   /* jobs failed */
    sl_value_t *value;       /* result once DONE, owned */
    char *error;             /* why it FAILED, owned */
    uint64_t duration_us;    /* compute time over its jobs */
    uint32_t cache_errors;   /* jobs whose cache failed */
    uint32_t errors;         /* failed attempts: code failed or crashed */
    uint32_t timeouts;       /* failed attempts: past the timeout */
    uint32_t deaths;         /* attempts lost with a dead worker */
    char *cache_error;       /* the first such failure, owned */
} node_state_t;

struct sl_run {
    char id[17];             /* 16 hex digits */
    uint32_t seq;            /* high half of job ids */
    sl_flow_t *flow;         /* owned */
    sl_value_t *params;      /* MAP, owned */
    zframe_t *client;        /* submitter's routing id, owned */
    bool wants_events;       /* stream events */
    node_state_t *nodes;     /* one per flow node */
    uint32_t nodes_finished; /* DONE or FAILED */
    bool has_failed;         /* some node FAILED */
    sl_job_t **jobs;         /* job_count jobs (in the nodes' slabs); NULL
                                once freed after the run finished */
    uint32_t job_count;
    uint32_t job_cap;
    uint32_t jobs_done;      /* succeeded */
    uint32_t jobs_cached;    /* of which from the cache */
    uint32_t jobs_failed;    /* failed for good */
    Sluice__Event **events;  /* pending for the client, owned */
    size_t event_count;
    size_t event_cap;
    uint32_t *ready;         /* nodes whose references are all done */
    uint32_t ready_count;    /* (each node enters at most once) */
    bool is_reported;        /* the final result went to the client */
    bool is_unconfirmed;     /* Accepted not sent yet: its news waits */
    int64_t unconfirmed_ms;  /* monotonic time it became unconfirmed */
    int64_t started_us;      /* monotonic time it was made (submitted, or
                                resumed from the journal) */
    zhashx_t *recovered;     /* "node:index" -> replayed result (values
                                owned by the run, not by the hash) */
};

typedef struct {
    sl_run_t *run;   /* the run */
    uint32_t node;   /* whose references are being linked */
} link_t;

static void
link_dep(size_t dep, void *ctx)
{
    link_t *l = ctx;
    node_state_t *d = &l->run->nodes[dep];
    for (uint32_t i = 0; i < d->dependent_count; i++)
        if (d->dependents[i] == l->node)
            return; /* referenced twice: counted once */
    uint32_t *grown = realloc(d->dependents,
                              (d->dependent_count + 1) * sizeof *grown);
    if (!grown)
        return; /* sl_run_new checks the count */
    d->dependents = grown;
    d->dependents[d->dependent_count++] = l->node;
    l->run->nodes[l->node].deps_left++;
}

sl_run_t *
sl_run_new(sl_run_config_t *cfg)
{
    sl_run_t *run = calloc(1, sizeof *run);
    sl_flow_t *flow = cfg->flow;
    cfg->flow = NULL;
    if (run) {
        run->flow = flow;
        run->params = cfg->params;
        cfg->params = NULL;
        run->seq = cfg->seq;
        run->wants_events = cfg->wants_events;
        run->started_us = zclock_usecs();
        run->client = cfg->client ? zframe_dup(cfg->client) : NULL;
        run->recovered = zhashx_new();
        run->nodes = calloc(flow->node_count, sizeof *run->nodes);
        run->ready = calloc(flow->node_count, sizeof *run->ready);
        zuuid_t *uuid = cfg->run_id ? NULL : zuuid_new();
        snprintf(run->id, sizeof run->id, "%.16s",
                 cfg->run_id ? cfg->run_id : uuid ? zuuid_str(uuid) : "");
        zuuid_destroy(&uuid);
    }
    if (!run || !run->nodes || !run->ready || !run->recovered ||
        (cfg->client && !run->client) || !run->id[0]) {
        if (!run) {
            sl_flow_destroy(&flow);
            sl_value_destroy(&cfg->params);
        }
        sl_run_destroy(&run);
        return NULL;
    }
    for (uint32_t i = 0; i < flow->node_count; i++) {
        link_t l = {run, i};
        sl_flow_deps(flow, i, link_dep, &l);
    }
    return run;
}

/* Frees every job (none may be referenced any more: no worker holds one,
 * none is queued, leads or follows). */
static void
free_jobs(sl_run_t *run)
{
    for (uint32_t i = 0; run->jobs && i < run->job_count; i++) {
        sl_value_destroy(&run->jobs[i]->args);
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
    sl_flow_destroy(&run->flow);
    sl_value_destroy(&run->params);
    zframe_destroy(&run->client);
    free(run);
    *p = NULL;
}

const char *
sl_run_id(const sl_run_t *run)
{
    return run->id;
}

void
sl_run_set_client(sl_run_t *run, zframe_t *client)
{
    if (!client) {
        zframe_destroy(&run->client);
        return;
    }
    zframe_t *copy = zframe_dup(client);
    if (copy) {
        zframe_destroy(&run->client);
        run->client = copy;
    }
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

zframe_t *
sl_run_client(const sl_run_t *run)
{
    return run->client;
}

bool
sl_run_is_finished(const sl_run_t *run)
{
    return run->nodes_finished == run->flow->node_count;
}

sl_job_t *
sl_run_job(sl_run_t *run, uint32_t index)
{
    return run->jobs && index < run->job_count ? run->jobs[index] : NULL;
}

/* A heap copy of s, or the literal "" (never freed) for empty or on
 * failure: an event's strings are freed only when non-empty. */
static char *
owned_or_empty(const char *s)
{
    char *copy = s && *s ? strdup(s) : NULL;
    return copy ? copy : (char *)"";
}

static Sluice__Event *
emit(sl_run_t *run, const sl_job_t *job, uint32_t node,
     Sluice__Event__Kind kind, const char *worker_id, const char *error)
{
    if (!run->wants_events)
        return NULL;
    if (run->event_count == run->event_cap) {
        size_t cap = run->event_cap ? run->event_cap * 2 : 64;
        Sluice__Event **grown = realloc(run->events, cap * sizeof *grown);
        if (!grown)
            return NULL; /* an event is progress information: drop it */
        run->events = grown;
        run->event_cap = cap;
    }
    Sluice__Event *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    sluice__event__init(e);
    e->run_id = run->id;
    e->node = run->flow->nodes[node].name;
    e->index = job ? job->index : 0;
    e->kind = kind;
    e->worker_id = owned_or_empty(worker_id);
    e->error = owned_or_empty(error);
    e->total = run->job_count;
    e->done = run->jobs_done + run->jobs_failed;
    run->events[run->event_count++] = e;
    return e;
}

bool
sl_run_has_events(const sl_run_t *run)
{
    return run->event_count > 0;
}

void
sl_run_events(sl_run_t *run, Sluice__EventBatch *batch)
{
    sluice__event_batch__init(batch);
    batch->events = run->events;
    batch->n_events = run->event_count;
}

void
sl_run_events_sent(sl_run_t *run)
{
    for (size_t i = 0; i < run->event_count; i++) {
        Sluice__Event *e = run->events[i];
        if (*e->worker_id)
            free(e->worker_id);
        if (*e->error)
            free(e->error);
        if (*e->cache_error)
            free(e->cache_error);
        free(e);
    }
    run->event_count = 0;
}

typedef struct {
    sl_run_t *run;         /* the run */
    const sl_node_t *node; /* the node being expanded */
    sl_value_t **lists;    /* resolved map sources; NULL while resolving them */
    size_t index;          /* the element being built */
} resolve_t;

static sl_value_t *
resolve(sl_ref_kind_t kind, const char *name, void *ctx)
{
    resolve_t *r = ctx;
    if (kind == SL_REF_PARAM)
        return sl_value_copy(sl_value_lookup(r->run->params, name));
    for (size_t i = 0; r->lists && i < r->node->map_count; i++)
        if (!strcmp(r->node->map_vars[i], name))
            return sl_value_copy(sl_value_at(r->lists[i], r->index));
    ptrdiff_t dep = sl_flow_index(r->run->flow, name);
    if (dep < 0 || r->run->nodes[dep].state != SL_NODE_DONE)
        return NULL; /* the validator and the DAG walk rule this out */
    return sl_value_copy(r->run->nodes[dep].value);
}

/* Takes a following job off its leader's list. */
static void
unfollow(sl_job_t *job)
{
    sl_job_t *leader = job->leader;
    void *handle = leader && leader->followers
                       ? zlistx_find(leader->followers, job) : NULL;
    if (handle)
        zlistx_delete(leader->followers, handle);
    job->leader = NULL;
}

/* The digest of node n's cache settings, made once per node: part of
 * every identity of its jobs. */
static const uint8_t *
settings_of(sl_run_t *run, uint32_t n)
{
    node_state_t *ns = &run->nodes[n];
    const sl_flow_t *flow = run->flow;
    const sl_node_t *node = &flow->nodes[n];
    sl_buf_t b = {0};
    if (!ns->has_settings &&
        sl_buf_printf(&b, "%d|%s|%s|%s|%d", (int)node->opt.cache,
                      node->opt.cache_key ? node->opt.cache_key : "",
                      flow->cache_namespace,
                      flow->cache_url ? flow->cache_url : "",
                      (int)node->opt.refresh) == 0 &&
        sl_digest_bytes(b.data, b.size, ns->settings) == 0)
        ns->has_settings = true;
    sl_buf_fini(&b);
    return ns->has_settings ? ns->settings : NULL;
}

/* A job that others may follow gets its identity: the digest of the task
 * call and its node's cache settings. Jobs that must run every time
 * (cache: none) get none. */
static void
set_identity(sl_run_t *run, sl_job_t *job)
{
    const sl_node_t *node = &run->flow->nodes[job->node];
    const uint8_t *settings = node->opt.cache == SL_CACHE_NONE
                                  ? NULL : settings_of(run, job->node);
    uint8_t both[2 * SL_DIGEST_BYTES]; /* task call, then settings */
    job->has_identity = false;
    if (!settings ||
        sl_digest_task(node->task, node->version, job->args, both) < 0)
        return;
    memcpy(both + SL_DIGEST_BYTES, settings, SL_DIGEST_BYTES);
    job->has_identity = sl_digest_bytes(both, sizeof both, job->identity) == 0;
}

/* Queues a new job, unless an identical one is in flight: then it follows
 * that one and is answered with its result. */
static void
enqueue_new(sl_run_t *run, sl_sched_t *sched, sl_job_t *job, const char *key)
{
    if (!job->has_identity)
        set_identity(run, job);
    sl_job_t *leader = sl_sched_leader(sched, job);
    if (leader && leader != job &&
        (leader->followers || (leader->followers = zlistx_new())) &&
        zlistx_add_end(leader->followers, job)) {
        job->state = SL_JOB_FOLLOWING;
        job->leader = leader;
        emit(run, job, job->node, SLUICE__EVENT__KIND__QUEUED, NULL,
             "an identical task is in flight: its result will serve");
        return;
    }
    if (job->has_identity)
        sl_sched_lead(sched, job);
    bool has_worker = sl_sched_enqueue(sched, job, key, false);
    emit(run, job, job->node, has_worker ? SLUICE__EVENT__KIND__QUEUED
                                         : SLUICE__EVENT__KIND__WAITING,
         NULL, NULL);
}

void
sl_run_job_ended(sl_sched_t *sched, sl_job_t *job)
{
    sl_sched_unlead(sched, job);
    zlistx_t *followers = job->followers;
    job->followers = NULL;
    for (sl_job_t *f = followers ? zlistx_first(followers) : NULL; f;
         f = zlistx_next(followers)) {
        if (f->state != SL_JOB_FOLLOWING)
            continue;
        const sl_node_t *node = &f->run->flow->nodes[f->node];
        char key[SL_NAME_MAX_BYTES + 16];
        f->leader = NULL;
        sl_sched_key(key, sizeof key, node->task, node->version);
        enqueue_new(f->run, sched, f, key); /* on its own, or behind another */
    }
    zlistx_destroy(&followers);
}

static void
cancel_jobs(sl_run_t *run, sl_sched_t *sched, const node_state_t *ns)
{
    for (uint32_t i = ns->first_job; i < ns->first_job + ns->job_count; i++) {
        sl_job_t *job = run->jobs[i];
        if (job->state == SL_JOB_QUEUED || job->state == SL_JOB_DELAYED)
            sl_sched_dequeue(sched, job);
        if (job->state == SL_JOB_FOLLOWING)
            unfollow(job);
        if (job->state == SL_JOB_QUEUED || job->state == SL_JOB_DELAYED ||
            job->state == SL_JOB_RUNNING || job->state == SL_JOB_FOLLOWING) {
            job->state = SL_JOB_CANCELLED; /* a late result is dropped */
            sl_run_job_ended(sched, job);
        }
    }
}

/* Fails node n with error, and everything that depends on it. */
static void
fail_node(sl_run_t *run, sl_sched_t *sched, uint32_t n, const char *error)
{
    size_t edges = 1; /* a node is pushed at most once per edge into it */
    for (size_t i = 0; i < run->flow->node_count; i++)
        edges += run->nodes[i].dependent_count;
    uint32_t *stack = malloc(edges * sizeof *stack);
    size_t top = 0;
    char upstream[SL_NAME_MAX_BYTES + 64];
    if (!stack)
        return;
    stack[top++] = n;
    while (top > 0) {
        uint32_t m = stack[--top];
        node_state_t *ns = &run->nodes[m];
        if (ns->state == SL_NODE_DONE || ns->state == SL_NODE_FAILED)
            continue;
        cancel_jobs(run, sched, ns);
        ns->state = SL_NODE_FAILED;
        ns->error = strdup(m == n ? error : upstream);
        run->nodes_finished++;
        run->has_failed = true;
        if (m != n)
            emit(run, NULL, m, SLUICE__EVENT__KIND__FAILED, NULL, ns->error);
        snprintf(upstream, sizeof upstream, "upstream node '%s' failed",
                 run->flow->nodes[n].name);
        for (uint32_t i = 0; i < ns->dependent_count; i++)
            if (run->nodes[ns->dependents[i]].state == SL_NODE_PENDING)
                stack[top++] = ns->dependents[i];
    }
    free(stack);
}

static void
node_done(sl_run_t *run, uint32_t n)
{
    node_state_t *ns = &run->nodes[n];
    if (run->flow->nodes[n].map_count) {
        ns->value = sl_value_new_list();
        for (uint32_t i = 0; ns->value && i < ns->job_count; i++)
            sl_value_push(ns->value, &run->jobs[ns->first_job + i]->value);
    } else {
        ns->value = run->jobs[ns->first_job]->value;
        run->jobs[ns->first_job]->value = NULL;
    }
    ns->state = SL_NODE_DONE;
    run->nodes_finished++;
    for (uint32_t i = 0; i < ns->dependent_count; i++) {
        node_state_t *d = &run->nodes[ns->dependents[i]];
        if (--d->deps_left == 0 && d->state == SL_NODE_PENDING)
            run->ready[run->ready_count++] = ns->dependents[i];
    }
}

static int
grow_jobs(sl_run_t *run, size_t more)
{
    if (run->job_count + more <= run->job_cap)
        return 0;
    size_t cap = run->job_cap ? run->job_cap : 16;
    while (cap < run->job_count + more)
        cap *= 2;
    if (cap > UINT32_MAX)
        return SL_ETOOBIG;
    sl_job_t **jobs = realloc(run->jobs, cap * sizeof *jobs);
    if (!jobs)
        return SL_ENOMEM;
    run->jobs = jobs;
    run->job_cap = (uint32_t)cap;
    return 0;
}

/* Resolves the map sources of node n into lists; the width, or -1 after
 * failing the node. */
static long
map_width(sl_run_t *run, sl_sched_t *sched, uint32_t n, sl_value_t **lists)
{
    const sl_node_t *node = &run->flow->nodes[n];
    resolve_t r = {run, node, NULL, 0};
    char msg[300];
    size_t width = 0;
    for (size_t i = 0; i < node->map_count; i++) {
        lists[i] = sl_flow_instantiate(node->map_sources[i], resolve, &r);
        size_t count = sl_value_count(lists[i]);
        if (sl_value_type(lists[i]) != SL_LIST)
            snprintf(msg, sizeof msg, "map variable '%s' is a %s, not a list",
                     node->map_vars[i], sl_type_name(sl_value_type(lists[i])));
        else if (i > 0 && count != width)
            snprintf(msg, sizeof msg, "map lists have different lengths (%zu "
                     "and %zu)", width, count);
        else if (count > SL_MAP_MAX_WIDTH)
            snprintf(msg, sizeof msg, "map of %zu elements is over the cap of "
                     "%d", count, SL_MAP_MAX_WIDTH);
        else {
            width = count;
            continue;
        }
        fail_node(run, sched, n, msg);
        return -1;
    }
    return node->map_count ? (long)width : 1;
}

void
sl_run_recover(sl_run_t *run, uint32_t node, uint32_t index,
               sl_value_t **value)
{
    char key[32];
    snprintf(key, sizeof key, "%u:%u", node, index);
    sl_value_t *old = zhashx_lookup(run->recovered, key);
    sl_value_destroy(&old); /* the same result journalled twice */
    zhashx_update(run->recovered, key, *value);
    *value = NULL;
}

/* A job whose result the journal kept is done at once, as a cache hit. */
static bool
take_recovered(sl_run_t *run, sl_job_t *job)
{
    char key[32];
    snprintf(key, sizeof key, "%u:%u", job->node, job->index);
    sl_value_t *value = zhashx_lookup(run->recovered, key);
    if (!value)
        return false;
    zhashx_delete(run->recovered, key); /* the value moves to the job */
    sl_value_destroy(&job->args);
    job->value = value;
    job->state = SL_JOB_DONE;
    run->jobs_done++;
    run->jobs_cached++;
    run->nodes[job->node].done_count++;
    run->nodes[job->node].cached_count++;
    emit(run, job, job->node, SLUICE__EVENT__KIND__CACHED, NULL, NULL);
    return true;
}

static void
expand(sl_run_t *run, sl_sched_t *sched, uint32_t n)
{
    const sl_node_t *node = &run->flow->nodes[n];
    node_state_t *ns = &run->nodes[n];
    sl_value_t **lists = calloc(node->map_count + 1, sizeof *lists);
    char key[SL_NAME_MAX_BYTES + 16];
    long width = lists ? map_width(run, sched, n, lists) : -1;
    ns->state = SL_NODE_RUNNING;
    ns->first_job = run->job_count;
    if (width > 0 && (grow_jobs(run, (size_t)width) < 0 ||
                      !(ns->slab = calloc((size_t)width, sizeof *ns->slab)))) {
        fail_node(run, sched, n, "too many tasks in this run");
        width = -1;
    }
    sl_sched_key(key, sizeof key, node->task, node->version);
    for (long i = 0; i < width; i++) {
        resolve_t r = {run, node, lists, (size_t)i};
        sl_job_t *job = &ns->slab[i];
        job->args = sl_flow_instantiate(node->args, resolve, &r);
        if (!job->args) {
            fail_node(run, sched, n, "could not build the task's arguments");
            break;
        }
        job->id = (uint64_t)run->seq << 32 | run->job_count;
        job->run = run;
        job->node = n;
        job->index = (uint32_t)i;
        run->jobs[run->job_count++] = job;
        ns->job_count++;
        if (!take_recovered(run, job))
            enqueue_new(run, sched, job, key);
    }
    if (width == 0 || (width > 0 && ns->done_count == ns->job_count))
        node_done(run, n);
    for (size_t i = 0; i < node->map_count; i++)
        sl_value_destroy(&lists[i]);
    free(lists);
}

/* Expands every node that became ready, until none is left. */
static void
advance(sl_run_t *run, sl_sched_t *sched)
{
    while (run->ready_count > 0) {
        uint32_t n = run->ready[--run->ready_count];
        if (run->nodes[n].state == SL_NODE_PENDING)
            expand(run, sched, n);
    }
}

void
sl_run_start(sl_run_t *run, sl_sched_t *sched)
{
    for (uint32_t i = run->flow->node_count; i-- > 0;)
        if (run->nodes[i].deps_left == 0)
            run->ready[run->ready_count++] = i;
    advance(run, sched);
}

void
sl_run_job_started(sl_run_t *run, sl_job_t *job, const char *worker_id)
{
    emit(run, job, job->node, SLUICE__EVENT__KIND__STARTED, worker_id, NULL);
}

/* The delay before retry number n (1-based): retry_delay doubled each
 * time, capped, with +-50% jitter so that retries do not march in step. */
static int64_t
retry_delay_ms(const sl_node_t *node, uint32_t n)
{
    uint64_t ms = node->opt.retry_delay_ms;
    for (uint32_t i = 1; i < n && ms < SL_RETRY_DELAY_MAX_MS; i++)
        ms *= 2;
    if (ms > SL_RETRY_DELAY_MAX_MS)
        ms = SL_RETRY_DELAY_MAX_MS;
    return ms ? (int64_t)(ms / 2 + (uint64_t)randof((int)ms + 1)) : 0;
}

static void
fail_job(sl_run_t *run, sl_sched_t *sched, sl_job_t *job, const char *why,
         const char *worker_id)
{
    const sl_node_t *node = &run->flow->nodes[job->node];
    char msg[700];
    job->state = SL_JOB_FAILED;
    sl_run_job_ended(sched, job); /* its followers go on their own */
    run->jobs_failed++;
    run->nodes[job->node].failed_count++;
    emit(run, job, job->node, SLUICE__EVENT__KIND__FAILED, worker_id, why);
    if (node->map_count)
        snprintf(msg, sizeof msg, "element %u: %s", job->index, why);
    else
        snprintf(msg, sizeof msg, "%s", why);
    fail_node(run, sched, job->node, msg);
}

static void
job_failed(sl_run_t *run, sl_sched_t *sched, sl_job_t *job, const char *error,
           bool is_timeout, const char *worker_id)
{
    const sl_node_t *node = &run->flow->nodes[job->node];
    char key[SL_NAME_MAX_BYTES + 16], msg[700];
    if (is_timeout) {
        job->timeouts++;
        run->nodes[job->node].timeouts++;
    } else {
        job->errors++;
        run->nodes[job->node].errors++;
    }
    uint32_t failures = (uint32_t)job->errors + job->timeouts;
    if (failures > node->opt.retries)
        return fail_job(run, sched, job, error, worker_id);
    int64_t delay = retry_delay_ms(node, failures);
    sl_sched_key(key, sizeof key, node->task, node->version);
    if (delay > 0)
        sl_sched_delay(sched, job, key, zclock_mono() + delay);
    else
        sl_sched_enqueue(sched, job, key, false);
    snprintf(msg, sizeof msg, "attempt %u failed (%s); retry %u of %u in %lld "
             "ms", job->attempt, error, failures, node->opt.retries,
             (long long)delay);
    emit(run, job, job->node, SLUICE__EVENT__KIND__QUEUED, worker_id, msg);
}

void
sl_run_job_result(sl_run_t *run, sl_sched_t *sched, sl_job_t *job,
                  const Sluice__Result *r, sl_value_t **value,
                  const char *worker_id)
{
    sl_sched_release(sched, job);
    if (job->state != SL_JOB_RUNNING) {
        sl_value_destroy(value); /* cancelled while it ran */
        return;
    }
    node_state_t *ns = &run->nodes[job->node];
    ns->duration_us += r->duration_us;
    if (r->cache == SLUICE__RESULT__CACHE__CACHE_ERROR &&
        ns->cache_errors++ == 0)
        ns->cache_error = strdup(r->cache_error);
    if (r->status != SLUICE__RESULT__STATUS__OK || !*value) {
        job_failed(run, sched, job, *r->error ? r->error : "no value",
                   r->failure == SLUICE__RESULT__FAILURE__TIMEOUT, worker_id);
        sl_value_destroy(value);
        advance(run, sched);
        return;
    }
    bool is_hit = r->cache == SLUICE__RESULT__CACHE__HIT;
    job->state = SL_JOB_DONE;
    sl_sched_unlead(sched, job); /* the broker serves its followers */
    job->value = *value;
    *value = NULL;
    sl_value_destroy(&job->args);
    run->jobs_done++;
    run->jobs_cached += is_hit;
    ns->done_count++;
    ns->cached_count += is_hit;
    Sluice__Event *e = emit(run, job, job->node,
                            is_hit ? SLUICE__EVENT__KIND__CACHED
                                   : SLUICE__EVENT__KIND__DONE,
                            worker_id, NULL);
    if (e) {
        e->cache = r->cache;
        e->cache_error = owned_or_empty(r->cache_error);
        e->duration_us = r->duration_us;
    }
    if (ns->done_count == ns->job_count)
        node_done(run, job->node);
    advance(run, sched);
}

void
sl_run_job_shared(sl_run_t *run, sl_sched_t *sched, sl_job_t *job,
                  sl_value_t **value, const char *worker_id)
{
    if (job->state != SL_JOB_FOLLOWING || !*value) {
        sl_value_destroy(value);
        return;
    }
    node_state_t *ns = &run->nodes[job->node];
    job->state = SL_JOB_DONE;
    job->leader = NULL;
    job->value = *value;
    *value = NULL;
    sl_value_destroy(&job->args);
    run->jobs_done++;
    run->jobs_cached++;
    ns->done_count++;
    ns->cached_count++;
    Sluice__Event *e = emit(run, job, job->node, SLUICE__EVENT__KIND__CACHED,
                            worker_id, NULL);
    if (e)
        e->cache = SLUICE__RESULT__CACHE__HIT;
    if (ns->done_count == ns->job_count)
        node_done(run, job->node);
    advance(run, sched);
}

void
sl_run_job_lost(sl_run_t *run, sl_sched_t *sched, sl_job_t *job,
                const char *why, bool is_death)
{
    if (job->state != SL_JOB_RUNNING)
        return;
    const sl_node_t *node = &run->flow->nodes[job->node];
    char key[SL_NAME_MAX_BYTES + 16], msg[300];
    run->nodes[job->node].deaths += is_death;
    if (is_death && ++job->deaths >= SL_POISON_DEATHS) {
        snprintf(msg, sizeof msg, "poison: %u workers died running it (last: "
                 "%s)", job->deaths, why);
        fail_job(run, sched, job, msg, NULL);
        advance(run, sched);
        return;
    }
    sl_sched_key(key, sizeof key, node->task, node->version);
    sl_sched_enqueue(sched, job, key, true);
    emit(run, job, job->node, SLUICE__EVENT__KIND__QUEUED, NULL, why);
}

void
sl_run_cancel(sl_run_t *run, sl_sched_t *sched, const char *reason)
{
    for (uint32_t i = 0; i < run->flow->node_count; i++)
        if (run->nodes[i].state == SL_NODE_PENDING ||
            run->nodes[i].state == SL_NODE_RUNNING)
            fail_node(run, sched, i, reason);
}

bool
sl_run_is_held(const sl_run_t *run)
{
    for (uint32_t i = 0; run->jobs && i < run->job_count; i++)
        if (run->jobs[i]->worker)
            return true;
    return false;
}

static Sluice__NodeResult__State
node_state_msg(sl_node_state_t s)
{
    switch (s) {
    case SL_NODE_PENDING: return SLUICE__NODE_RESULT__STATE__PENDING;
    case SL_NODE_RUNNING: return SLUICE__NODE_RESULT__STATE__RUNNING;
    case SL_NODE_DONE: return SLUICE__NODE_RESULT__STATE__DONE;
    default: return SLUICE__NODE_RESULT__STATE__FAILED;
    }
}

static Sluice__RunResult__State
run_state_msg(const sl_run_t *run)
{
    if (!sl_run_is_finished(run))
        return SLUICE__RUN_RESULT__STATE__RUNNING;
    return run->has_failed ? SLUICE__RUN_RESULT__STATE__FAILED
                           : SLUICE__RUN_RESULT__STATE__DONE;
}

typedef struct {
    Sluice__RunResult msg;        /* first: the message handed out */
    Sluice__NodeResult *nodes;    /* storage */
    Sluice__NodeResult **ptrs;
} result_view_t;

Sluice__RunResult *
sl_run_result(sl_run_t *run)
{
    size_t n = run->flow->node_count;
    result_view_t *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->nodes = calloc(n, sizeof *v->nodes);
    v->ptrs = calloc(n, sizeof *v->ptrs);
    sluice__run_result__init(&v->msg);
    v->msg.run_id = run->id;
    v->msg.flow = run->flow->name;
    v->msg.state = run_state_msg(run);
    for (size_t i = 0; v->nodes && v->ptrs && i < n; i++) {
        const node_state_t *ns = &run->nodes[i];
        Sluice__NodeResult *nr = &v->nodes[i];
        sluice__node_result__init(nr);
        nr->name = run->flow->nodes[i].name;
        nr->state = node_state_msg(ns->state);
        nr->error = ns->error ? ns->error : "";
        nr->tasks = ns->job_count;
        nr->cached = ns->cached_count;
        nr->failed = ns->failed_count;
        nr->duration_us = ns->duration_us;
        nr->cache_errors = ns->cache_errors;
        nr->cache_error = ns->cache_error ? ns->cache_error : "";
        nr->errors = ns->errors;
        nr->timeouts = ns->timeouts;
        nr->deaths = ns->deaths;
        if (ns->value && sl_wire_value_view(ns->value, &nr->value, NULL) < 0)
            nr->error = "result too large to send";
        v->ptrs[i] = nr;
        v->msg.n_nodes = i + 1;
    }
    v->msg.nodes = v->ptrs;
    return &v->msg;
}

void
sl_run_result_free(Sluice__RunResult **p)
{
    if (!p || !*p)
        return;
    result_view_t *v = (result_view_t *)*p;
    for (size_t i = 0; i < v->msg.n_nodes; i++)
        free(v->nodes[i].value);
    free(v->nodes);
    free(v->ptrs);
    free(v);
    *p = NULL;
}

void
sl_run_status(const sl_run_t *run, Sluice__RunStatus *out)
{
    sluice__run_status__init(out);
    out->run_id = (char *)run->id;
    out->flow = run->flow->name;
    out->state = run_state_msg(run);
    out->tasks = run->job_count;
    out->done = run->jobs_done;
    out->cached = run->jobs_cached;
    out->failed = run->jobs_failed;
}

int64_t
sl_run_started_us(const sl_run_t *run)
{
    return run->started_us;
}

void
sl_run_compact(sl_run_t *run)
{
    for (size_t i = 0; i < run->flow->node_count; i++)
        sl_value_destroy(&run->nodes[i].value);
    if (!sl_run_is_held(run)) {
        free_jobs(run); /* a late result now finds no job, and is dropped */
        return;
    }
    for (uint32_t i = 0; i < run->job_count; i++) {
        sl_value_destroy(&run->jobs[i]->args);
        sl_value_destroy(&run->jobs[i]->value);
    }
}

bool
sl_run_take_finish(sl_run_t *run)
{
    if (!sl_run_is_finished(run) || run->is_reported)
        return false;
    run->is_reported = true;
    return true;
}
