/* broker/dag.c: the DAG walk of a run: node states (the node table of
 * docs/ARCHITECTURE.md, enforced by node_enter), expansion of a node into
 * jobs (one, or one per map element), coalescing identical jobs, and what
 * each job outcome does to the run: done, retried, failed, lost, shared,
 * cancelled. Owned by the broker loop thread; sends nothing. */
#include "run_internal.h"

#include "caps.h"
#include "digest.h"
#include "invariant.h"
#include "program.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- node states -------------------------------------------------------- */

static const char *
node_state_name(sl_node_state_t s)
{
    static const char *names[] = {"pending", "running", "done", "failed"};
    return s <= SL_NODE_FAILED ? names[s] : "?";
}

static bool
node_may_enter(sl_node_state_t from, sl_node_state_t to)
{
    switch (from) {
    case SL_NODE_PENDING: return to == SL_NODE_RUNNING || to == SL_NODE_FAILED;
    case SL_NODE_RUNNING: return to == SL_NODE_DONE || to == SL_NODE_FAILED;
    default: return false; /* DONE and FAILED are final */
    }
}

/* Moves node n to state to, counting it finished once DONE or FAILED. An
 * illegal change breaks the run (it fails at the next settle) and returns
 * false with the node unchanged. */
static bool
node_enter(sl_run_t *run, uint32_t n, sl_node_state_t to)
{
    node_state_t *ns = &run->nodes[n];
    if (!node_may_enter(ns->state, to)) {
        char why[SL_NAME_MAX_BYTES + 100];
        snprintf(why, sizeof why, "node '%s': %s -> %s is not a legal change",
                 run->flow->nodes[n].name, node_state_name(ns->state),
                 node_state_name(to));
        sl_invariant_broken("broker", "run=%s %s", run->id, why);
        sl_run_break(run, why);
        return false;
    }
    ns->state = to;
    if (to == SL_NODE_DONE || to == SL_NODE_FAILED)
        run->nodes_finished++;
    if (run->nodes_finished == run->flow->node_count)
        sl_run_mark_finished(run);
    return true;
}

/* ---- coalescing ------------------------------------------------------- */

/* Takes a following job off its leader's list. */
static void
unfollow(sl_job_t *job)
{
    sl_job_t *leader = job->leader;
    void *handle = leader && leader->followers
                       ? zlistx_find(leader->followers, job)
                       : NULL;
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
    const uint8_t *settings =
        node->opt.cache == SL_CACHE_NONE ? NULL : settings_of(run, job->node);
    /* one pass, keyed by the settings; the same call reading other files
       (its inputs) is another */
    job->has_identity =
        settings &&
        sl_digest_task_keyed(node->task, node->version, job->args, job->inputs,
                             settings, job->identity) == 0;
}

/* The queue a job waits in: its task's, or for a program task, its
 * program's ("exec:wc"), which only workers whose --exec rules allow it
 * serve. */
static void
queue_key(const sl_run_t *run, const sl_job_t *job, char *key, size_t size)
{
    const sl_node_t *node = &run->flow->nodes[job->node];
    const char *program = !strcmp(node->task, SL_PROGRAM_TASK)
                              ? sl_program_name(job->args)
                              : NULL;
    if (program)
        snprintf(key, size, SL_PROGRAM_QUEUE_PREFIX "%s", program);
    else
        sl_sched_key(key, size, node->task, node->version);
}

/* Queues a new job (or one whose leader ended), unless an identical one is
 * in flight: then it follows that one and is answered with its result. */
static void
enqueue_new(sl_run_t *run, sl_sched_t *sched, sl_job_t *job)
{
    char key[SL_QUEUE_KEY_BYTES];
    if (!job->has_identity)
        set_identity(run, job);
    sl_job_t *leader = sl_sched_leader(sched, job);
    if (leader && leader != job &&
        (leader->followers || (leader->followers = zlistx_new())) &&
        zlistx_add_end(leader->followers, job)) {
        if (sl_job_enter(job, SL_JOB_FOLLOWING) < 0)
            return;
        job->leader = leader;
        sl_run_emit(run, job, job->node, SL_EVENT_QUEUED, NULL,
                    "an identical task is in flight: its result will serve");
        return;
    }
    if (job->has_identity)
        sl_sched_lead(sched, job);
    queue_key(run, job, key, sizeof key);
    if (sl_sched_enqueue(sched, job, key, false)) {
        sl_run_emit(run, job, job->node, SL_EVENT_QUEUED, NULL, NULL);
        return;
    }
    char why[SL_QUEUE_KEY_BYTES + 160];
    if (!strncmp(key, SL_PROGRAM_QUEUE_PREFIX, strlen(SL_PROGRAM_QUEUE_PREFIX)))
        snprintf(why, sizeof why,
                 "no connected worker may run program '%.*s' (start one "
                 "with --exec RULE that allows it)",
                 SL_PROGRAM_NAME_MAX_BYTES,
                 key + strlen(SL_PROGRAM_QUEUE_PREFIX));
    else
        snprintf(why, sizeof why, "no connected worker serves task '%s'", key);
    sl_run_emit(run, job, job->node, SL_EVENT_WAITING, NULL, why);
}

/* job will not produce a result (it failed or was cancelled): it stops
 * leading its identity, and its followers are queued on their own. */
static void
job_ended(sl_sched_t *sched, sl_job_t *job)
{
    sl_sched_unlead(sched, job);
    zlistx_t *followers = job->followers;
    job->followers = NULL;
    for (sl_job_t *f = followers ? zlistx_first(followers) : NULL; f;
         f = zlistx_next(followers)) {
        if (f->state != SL_JOB_FOLLOWING)
            continue;
        f->leader = NULL;
        enqueue_new(f->run, sched, f); /* on its own, or behind another */
    }
    zlistx_destroy(&followers);
}

/* ---- failing and finishing nodes --------------------------------------- */

static void
cancel_jobs(sl_run_t *run, sl_sched_t *sched, const node_state_t *ns,
            zlistx_t *held)
{
    for (uint32_t i = ns->first_job; i < ns->first_job + ns->job_count; i++) {
        sl_job_t *job = run->jobs[i];
        if (sl_job_is_over(job))
            continue;
        if (job->state == SL_JOB_QUEUED || job->state == SL_JOB_DELAYED)
            sl_sched_dequeue(sched, job);
        if (job->state == SL_JOB_FOLLOWING)
            unfollow(job);
        if (job->state == SL_JOB_RUNNING && held)
            zlistx_add_end(held, job);
        if (sl_job_enter(job, SL_JOB_CANCELLED) == 0) /* late results drop */
            job_ended(sched, job);
    }
}

/* Fails node n with error (announced with a FAILED event unless is_said:
 * the job that failed it said so), and everything that depends on it.
 * Running jobs of the nodes failed are appended to held, if not NULL. */
static void
fail_node(sl_run_t *run, sl_sched_t *sched, uint32_t n, const char *error,
          bool is_said, zlistx_t *held)
{
    size_t edges = 1; /* a node is pushed at most once per edge into it */
    for (size_t i = 0; i < run->flow->node_count; i++)
        edges += run->nodes[i].dependent_count;
    uint32_t *stack = malloc(edges * sizeof *stack);
    size_t top = 0;
    char upstream[SL_NAME_MAX_BYTES + 64];
    snprintf(upstream, sizeof upstream, "upstream node '%s' failed",
             run->flow->nodes[n].name);
    if (!stack) { /* no memory to walk the dependents: end the run */
        sl_run_break(run, "out of memory failing a node");
        return;
    }
    stack[top++] = n;
    while (top > 0) {
        uint32_t m = stack[--top];
        node_state_t *ns = &run->nodes[m];
        if (ns->state == SL_NODE_DONE || ns->state == SL_NODE_FAILED)
            continue;
        cancel_jobs(run, sched, ns, held);
        free(ns->error);
        ns->error = strdup(m == n ? error : upstream);
        run->has_failed = true;
        if (!node_enter(run, m, SL_NODE_FAILED))
            continue;
        if (m != n || !is_said)
            sl_run_emit(run, NULL, m, SL_EVENT_FAILED, NULL, ns->error);
        for (uint32_t i = 0; i < ns->dependent_count; i++)
            if (run->nodes[ns->dependents[i]].state == SL_NODE_PENDING)
                stack[top++] = ns->dependents[i];
    }
    free(stack);
}

/* Node n (RUNNING) has every job done: its value is gathered (a mapped
 * node's in element order) and its dependents may become ready. */
static void
node_done(sl_run_t *run, sl_sched_t *sched, uint32_t n)
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
    if (!ns->value) {
        fail_node(run, sched, n, "out of memory gathering the results", false,
                  NULL);
        return;
    }
    if (!node_enter(run, n, SL_NODE_DONE))
        return;
    for (uint32_t i = 0; i < ns->dependent_count; i++) {
        node_state_t *d = &run->nodes[ns->dependents[i]];
        if (--d->deps_left == 0 && d->state == SL_NODE_PENDING)
            run->ready[run->ready_count++] = ns->dependents[i];
    }
}

/* ---- expansion -------------------------------------------------------- */

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

/* Resolves the map sources of node n into lists (map_count of them); the
 * width, or -1 with why filled in. */
static long
map_width(sl_run_t *run, uint32_t n, sl_value_t **lists, char *why, size_t size)
{
    const sl_node_t *node = &run->flow->nodes[n];
    resolve_t r = {run, node, NULL, 0};
    size_t width = 0;
    for (size_t i = 0; i < node->map_count; i++) {
        lists[i] = sl_flow_instantiate(node->map_sources[i], resolve, &r);
        size_t count = sl_value_count(lists[i]);
        if (!lists[i])
            snprintf(why, size, "out of memory resolving map variable '%s'",
                     node->map_vars[i]);
        else if (sl_value_type(lists[i]) != SL_LIST)
            snprintf(why, size, "map variable '%s' is %s %s, not a list",
                     node->map_vars[i],
                     strchr("aeiou", *sl_type_name(sl_value_type(lists[i])))
                         ? "an"
                         : "a",
                     sl_type_name(sl_value_type(lists[i])));
        else if (i > 0 && count != width)
            snprintf(why, size,
                     "map lists have different lengths (%zu and %zu)", width,
                     count);
        else if (count > SL_MAP_MAX_WIDTH)
            snprintf(why, size, "map of %zu elements is over the cap of %d",
                     count, SL_MAP_MAX_WIDTH);
        else {
            width = count;
            continue;
        }
        return -1;
    }
    return (long)width;
}

void
sl_run_recover(sl_run_t *run, uint32_t node, uint32_t index, sl_value_t **value)
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
    if (!value || sl_job_enter(job, SL_JOB_DONE) < 0)
        return false;
    zhashx_delete(run->recovered, key); /* the value moves to the job */
    sl_value_destroy(&job->args);
    sl_value_destroy(&job->inputs);
    job->value = value;
    run->jobs_done++;
    run->jobs_cached++;
    run->nodes[job->node].done_count++;
    run->nodes[job->node].cached_count++;
    sl_run_emit(run, job, job->node, SL_EVENT_CACHED, NULL, NULL);
    return true;
}

/* A program task's call, once its references are resolved: the shape of
 * its arguments and its program's name (a worker would refuse it, and no
 * worker's rules could route it). */
static int
check_program(const sl_node_t *node, const sl_value_t *args, sl_error_t *err)
{
    sl_program_call_t call;
    if (strcmp(node->task, SL_PROGRAM_TASK) != 0)
        return 0;
    if (sl_program_call_parse(args, &call, err) < 0)
        return SL_EINVAL;
    return sl_program_check_name(sl_program_name(args), err);
}

/* Places width jobs of node n (RUNNING, its slab made); stops at the first
 * that cannot be built, after failing the node. */
static void
place_jobs(sl_run_t *run, sl_sched_t *sched, uint32_t n, sl_value_t **lists,
           long width)
{
    const sl_node_t *node = &run->flow->nodes[n];
    node_state_t *ns = &run->nodes[n];
    for (long i = 0; i < width; i++) {
        resolve_t r = {run, node, lists, (size_t)i};
        sl_job_t *job = &ns->slab[i];
        job->args = sl_flow_instantiate(node->args, resolve, &r);
        job->inputs = node->inputs
                          ? sl_flow_instantiate(node->inputs, resolve, &r)
                          : NULL;
        sl_error_t err = {0};
        if (!job->args || (node->inputs && !job->inputs)) {
            sl_value_destroy(&job->args);
            fail_node(run, sched, n,
                      "out of memory building the task's arguments", false,
                      NULL);
            return;
        }
        if (sl_value_check_caps(job->args, &err) < 0 ||
            (job->inputs && sl_value_check_caps(job->inputs, &err) < 0) ||
            check_program(node, job->args, &err) < 0) {
            char why[700];
            snprintf(why, sizeof why, "%s cannot be sent to a worker: %s",
                     node->map_count ? "an element's arguments"
                                     : "its arguments",
                     err.msg);
            sl_value_destroy(&job->args);
            sl_value_destroy(&job->inputs);
            sl_value_destroy(&job->inputs);
            fail_node(run, sched, n, why, false, NULL);
            return;
        }
        job->id = (uint64_t)run->seq << 32 | run->job_count;
        job->run = run;
        job->node = n;
        job->index = (uint32_t)i;
        run->jobs[run->job_count++] = job;
        ns->job_count++;
        if (!take_recovered(run, job))
            enqueue_new(run, sched, job);
    }
}

/* Expands node n (PENDING, every reference done) into its jobs. A map
 * whose sources do not resolve to lists of one length fails the node
 * before it runs; a map of none is done at once with []. */
static void
expand(sl_run_t *run, sl_sched_t *sched, uint32_t n)
{
    const sl_node_t *node = &run->flow->nodes[n];
    node_state_t *ns = &run->nodes[n];
    sl_value_t **lists = calloc(node->map_count + 1, sizeof *lists);
    char why[300];
    long width = 1;
    if (!lists) {
        fail_node(run, sched, n, "out of memory expanding the node", false,
                  NULL);
        return;
    }
    if (node->map_count &&
        (width = map_width(run, n, lists, why, sizeof why)) < 0) {
        fail_node(run, sched, n, why, false, NULL);
        goto out;
    }
    if (!node_enter(run, n, SL_NODE_RUNNING))
        goto out;
    ns->first_job = run->job_count;
    if (width > 0 && (grow_jobs(run, (size_t)width) < 0 ||
                      !(ns->slab = calloc((size_t)width, sizeof *ns->slab)))) {
        fail_node(run, sched, n, "out of memory: too many tasks in this run",
                  false, NULL);
        goto out;
    }
    place_jobs(run, sched, n, lists, width);
    if (ns->state == SL_NODE_RUNNING && ns->done_count == ns->job_count)
        node_done(run, sched, n); /* no elements, or all recovered */
out:
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
    sl_run_settle(run, sched);
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
    sl_run_emit(run, job, job->node, SL_EVENT_STARTED, worker_id, NULL);
}

/* ---- job outcomes ------------------------------------------------------ */

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

/* job (RUNNING, or QUEUED and given up) failed for good: so does its
 * node. */
static void
fail_job(sl_run_t *run, sl_sched_t *sched, sl_job_t *job, const char *why,
         const char *worker_id)
{
    const sl_node_t *node = &run->flow->nodes[job->node];
    char msg[700];
    if (job->state == SL_JOB_QUEUED)
        sl_sched_dequeue(sched, job);
    if (sl_job_enter(job, SL_JOB_FAILED) < 0)
        return;
    job_ended(sched, job); /* its followers go on their own */
    run->jobs_failed++;
    run->nodes[job->node].failed_count++;
    sl_run_emit(run, job, job->node, SL_EVENT_FAILED, worker_id, why);
    if (node->map_count)
        snprintf(msg, sizeof msg, "element %u: %s", job->index, why);
    else
        snprintf(msg, sizeof msg, "%s", why);
    fail_node(run, sched, job->node, msg, true, NULL);
}

/* job's attempt failed: retried after its delay, or failed for good. */
static void
job_failed(sl_run_t *run, sl_sched_t *sched, sl_job_t *job, const char *error,
           bool is_timeout, const char *worker_id)
{
    const sl_node_t *node = &run->flow->nodes[job->node];
    char key[SL_QUEUE_KEY_BYTES], msg[700];
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
    queue_key(run, job, key, sizeof key);
    if (delay > 0)
        sl_sched_delay(sched, job, key, zclock_mono() + delay);
    else
        sl_sched_enqueue(sched, job, key, false);
    snprintf(msg, sizeof msg,
             "attempt %u failed (%s); retry %u of %u in %lld ms", job->attempt,
             error, failures, node->opt.retries, (long long)delay);
    sl_run_emit(run, job, job->node, SL_EVENT_QUEUED, worker_id, msg);
}

/* job (RUNNING or FOLLOWING) succeeded with *value (consumed). */
static void
job_done(sl_run_t *run, sl_sched_t *sched, sl_job_t *job, sl_value_t **value,
         bool is_hit)
{
    node_state_t *ns = &run->nodes[job->node];
    if (sl_job_enter(job, SL_JOB_DONE) < 0) {
        sl_value_destroy(value);
        return;
    }
    sl_sched_unlead(sched, job); /* the broker serves its followers */
    job->leader = NULL;
    job->value = *value;
    *value = NULL;
    sl_value_destroy(&job->args);
    sl_value_destroy(&job->inputs);
    run->jobs_done++;
    run->jobs_cached += is_hit;
    ns->done_count++;
    ns->cached_count += is_hit;
}

void
sl_run_job_result(sl_run_t *run, sl_sched_t *sched, sl_job_t *job,
                  const sl_outcome_t *o, sl_value_t **value,
                  const char *worker_id)
{
    sl_sched_release(sched, job);
    if (job->state == SL_JOB_CANCELLED) {
        sl_value_destroy(value); /* cancelled while it ran */
        return;
    }
    if (job->state != SL_JOB_RUNNING) {
        sl_invariant_broken("broker",
                            "run=%s job %llx: a result for a job that is %s",
                            run->id, (unsigned long long)job->id,
                            sl_job_state_name(job->state));
        sl_run_break(run, "a result arrived for a job that was not running");
        sl_value_destroy(value);
        sl_run_settle(run, sched);
        return;
    }
    node_state_t *ns = &run->nodes[job->node];
    ns->duration_us += o->duration_us;
    if (o->cache == SL_CACHE_OUTCOME_ERROR && ns->cache_errors++ == 0)
        ns->cache_error = strdup(o->cache_error ? o->cache_error : "");
    if (!o->is_ok || !*value) {
        job_failed(run, sched, job,
                   o->error && *o->error ? o->error : "no value",
                   o->failure == SL_FAIL_TIMEOUT, worker_id);
        sl_value_destroy(value);
        advance(run, sched);
        return;
    }
    bool is_hit = o->cache == SL_CACHE_OUTCOME_HIT;
    job_done(run, sched, job, value, is_hit);
    sl_run_event_t *e =
        sl_run_emit(run, job, job->node,
                    is_hit ? SL_EVENT_CACHED : SL_EVENT_DONE, worker_id, NULL);
    if (e) {
        e->cache = o->cache;
        e->cache_error =
            o->cache_error && *o->cache_error ? strdup(o->cache_error) : NULL;
        e->cache_key =
            o->cache_key && *o->cache_key ? strdup(o->cache_key) : NULL;
        e->duration_us = o->duration_us;
    }
    if (ns->state == SL_NODE_RUNNING && ns->done_count == ns->job_count)
        node_done(run, sched, job->node);
    advance(run, sched);
}

void
sl_run_job_shared(sl_run_t *run, sl_sched_t *sched, sl_job_t *job,
                  sl_value_t **value, const char *worker_id)
{
    if (job->state != SL_JOB_FOLLOWING || !*value) {
        sl_value_destroy(value); /* it stopped following meanwhile */
        return;
    }
    node_state_t *ns = &run->nodes[job->node];
    job_done(run, sched, job, value, true);
    sl_run_event_t *e =
        sl_run_emit(run, job, job->node, SL_EVENT_CACHED, worker_id, NULL);
    if (e)
        e->cache = SL_CACHE_OUTCOME_HIT;
    if (ns->state == SL_NODE_RUNNING && ns->done_count == ns->job_count)
        node_done(run, sched, job->node);
    advance(run, sched);
}

void
sl_run_job_lost(sl_run_t *run, sl_sched_t *sched, sl_job_t *job,
                const char *why, bool is_death)
{
    if (job->state == SL_JOB_CANCELLED)
        return; /* cancelled while its worker held it: nothing owed */
    if (job->state != SL_JOB_RUNNING) {
        sl_invariant_broken("broker", "run=%s job %llx lost while %s", run->id,
                            (unsigned long long)job->id,
                            sl_job_state_name(job->state));
        sl_run_break(run, "a job that was not running was lost");
        sl_run_settle(run, sched);
        return;
    }
    char key[SL_QUEUE_KEY_BYTES], msg[300];
    run->nodes[job->node].deaths += is_death;
    if (is_death && ++job->deaths >= SL_POISON_DEATHS) {
        snprintf(msg, sizeof msg,
                 "poison: %u workers died running it (last: %s)", job->deaths,
                 why);
        fail_job(run, sched, job, msg, NULL);
        advance(run, sched);
        return;
    }
    queue_key(run, job, key, sizeof key);
    sl_sched_enqueue(sched, job, key, true);
    sl_run_emit(run, job, job->node, SL_EVENT_QUEUED, NULL, why);
}

void
sl_run_job_give_up(sl_run_t *run, sl_sched_t *sched, sl_job_t *job,
                   const char *why)
{
    if (job->state != SL_JOB_QUEUED)
        return; /* taken meanwhile: it runs */
    fail_job(run, sched, job, why, NULL);
    advance(run, sched);
}

void
sl_run_cancel(sl_run_t *run, sl_sched_t *sched, const char *reason,
              zlistx_t *held)
{
    if (sl_run_is_finished(run))
        return;
    run->is_cancelled = true;
    for (uint32_t i = 0; i < run->flow->node_count; i++)
        if (run->nodes[i].state == SL_NODE_PENDING ||
            run->nodes[i].state == SL_NODE_RUNNING)
            fail_node(run, sched, i, reason, false, held);
    sl_run_settle(run, sched);
}

void
sl_run_settle(sl_run_t *run, sl_sched_t *sched)
{
    if (!run->broken || sl_run_is_finished(run))
        return;
    char why[600];
    snprintf(why, sizeof why, "internal error: %s", run->broken);
    for (uint32_t i = 0; i < run->flow->node_count; i++)
        if (run->nodes[i].state == SL_NODE_PENDING ||
            run->nodes[i].state == SL_NODE_RUNNING)
            fail_node(run, sched, i, why, false, NULL);
    for (uint32_t i = 0; run->jobs && i < run->flow->node_count; i++)
        cancel_jobs(run, sched, &run->nodes[i], NULL); /* none may stay
                                                          queued or lead */
    run->is_abandoned = true; /* whatever is left, the run is over */
    sl_run_mark_finished(run);
}
