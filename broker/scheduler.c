/* broker/scheduler.c: ready queues and workers. Owned by the broker loop
 * thread; no locks. Never frees a job (runs own them) and never sends anything
 * (broker.c does). */
#include "scheduler.h"

#include "job.h"
#include "leaders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A ready queue: the jobs of one task key, oldest first. Freed once empty
 * with no delayed job bound for it, so that task names come and go
 * without the broker's memory growing with every name ever seen. */
struct sl_squeue {
    zlistx_t *jobs; /* sl_job_t*, borrowed */
    size_t delayed; /* delayed jobs that will come back to it */
    char *key;      /* its key in sl_sched.queues, owned */
};

struct sl_sched {
    zhashx_t *queues;      /* key -> sl_squeue_t, owned */
    zhashx_t *by_id;       /* hex routing id -> sl_bworker_t*, owned */
    zlistx_t *workers;     /* sl_bworker_t*, borrowed from by_id */
    zlistx_t *delayed;     /* sl_job_t* waiting out a retry, by due time */
    sl_leaders_t *leaders; /* identity -> the job computing it */
    uint32_t prefetch;     /* jobs a worker may hold beyond its slots */
    size_t queued;         /* jobs in the ready queues */
    size_t held;           /* jobs held by workers */
    zhashx_t *serving;     /* queue key -> workers serving it (uintptr_t) */
    bool took_spread;      /* a take since sl_sched_round took a job of a
                              spread queue */
};

/* The queues of load shares (docs/LOAD.md) spread over the workers: a
 * take gives a worker at most one of them, so a dispatch round gives
 * every load worker one before any gets a second, and each share starts
 * at once rather than behind another in a worker's prefetch. */
static bool
is_spread(const char *key)
{
    return !strcmp(key, "load") || !strncmp(key, "load@", 5);
}

void
sl_sched_round(sl_sched_t *s)
{
    s->took_spread = false;
}

bool
sl_sched_took_spread(const sl_sched_t *s)
{
    return s->took_spread;
}

static int
compare_due(const void *a, const void *b)
{
    int64_t x = ((const sl_job_t *)a)->due_ms,
            y = ((const sl_job_t *)b)->due_ms;
    return x < y ? -1 : x > y;
}

static void
destroy_queue(void **item)
{
    sl_squeue_t *q = *item;
    if (q) {
        zlistx_destroy(&q->jobs);
        free(q->key);
        free(q);
    }
    *item = NULL;
}

static void
destroy_worker(void **item)
{
    sl_bworker_t *w = *item;
    if (!w)
        return;
    for (size_t i = 0; i < w->key_count; i++)
        free(w->keys[i]);
    free(w->keys);
    for (size_t i = 0; i < w->exec_rule_count; i++)
        free(w->exec_rules[i]);
    free(w->exec_rules);
    free(w->exec_path);
    free(w->id);
    free(w->hostname);
    free(w->incarnation);
    zframe_destroy(&w->identity);
    zlistx_destroy(&w->held);
    free(w);
    *item = NULL;
}

sl_sched_t *
sl_sched_new(uint32_t prefetch)
{
    sl_sched_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->queues = zhashx_new();
    s->by_id = zhashx_new();
    s->workers = zlistx_new();
    s->delayed = zlistx_new();
    s->leaders = sl_leaders_new();
    s->serving = zhashx_new();
    s->prefetch = prefetch;
    if (!s->queues || !s->by_id || !s->workers || !s->delayed || !s->leaders ||
        !s->serving) {
        sl_sched_destroy(&s);
        return NULL;
    }
    zhashx_set_destructor(s->queues, destroy_queue);
    zhashx_set_destructor(s->by_id, destroy_worker);
    zlistx_set_comparator(s->delayed, compare_due);
    return s;
}

void
sl_sched_destroy(sl_sched_t **p)
{
    if (!p || !*p)
        return;
    zlistx_destroy(&(*p)->workers);
    zlistx_destroy(&(*p)->delayed);
    sl_leaders_destroy(&(*p)->leaders);
    zhashx_destroy(&(*p)->serving);
    zhashx_destroy(&(*p)->by_id);
    zhashx_destroy(&(*p)->queues);
    free(*p);
    *p = NULL;
}

void
sl_sched_key(char *out, size_t size, const char *task, uint32_t version)
{
    if (version)
        snprintf(out, size, "%s@%u", task, version);
    else
        snprintf(out, size, "%s", task);
}

static int add_key(sl_bworker_t *w, const char *key);
static bool serves(const sl_bworker_t *w, const char *key);

/* Whether w's --exec rules may allow the program of queue key (one of
 * "exec:PROGRAM"). */
static bool
may_run(const sl_bworker_t *w, const char *key)
{
    size_t n = strlen(SL_PROGRAM_QUEUE_PREFIX);
    return w->exec_rule_count && !strncmp(key, SL_PROGRAM_QUEUE_PREFIX, n) &&
           sl_program_rules_match(w->exec_rules, w->exec_rule_count,
                                  w->exec_path, key + n) != NULL;
}

/* w serves key from now on (a program its rules allow): one more worker
 * serves it. */
static void
serve_program(sl_sched_t *s, sl_bworker_t *w, const char *key)
{
    if (serves(w, key) || add_key(w, key) < 0)
        return;
    uintptr_t n = (uintptr_t)zhashx_lookup(s->serving, key);
    zhashx_update(s->serving, key, (void *)(n + 1));
}

/* The queue of key, made if need be; NULL without memory. A new queue of
 * a program is served by every worker whose rules allow it. */
static sl_squeue_t *
queue_for(sl_sched_t *s, const char *key)
{
    sl_squeue_t *q = zhashx_lookup(s->queues, key);
    if (q)
        return q;
    if (!(q = calloc(1, sizeof *q)) || !(q->jobs = zlistx_new()) ||
        !(q->key = strdup(key)) || zhashx_insert(s->queues, key, q) != 0) {
        destroy_queue((void **)&q);
        return NULL;
    }
    for (sl_bworker_t *w = zlistx_first(s->workers); w;
         w = zlistx_next(s->workers))
        if (may_run(w, key))
            serve_program(s, w, key);
    return q;
}

/* Frees q if nothing waits in it or will come back to it. */
static void
retire_queue(sl_sched_t *s, sl_squeue_t *q)
{
    if (q && zlistx_size(q->jobs) == 0 && q->delayed == 0)
        zhashx_delete(s->queues, q->key); /* frees q */
}

static bool
serves(const sl_bworker_t *w, const char *key)
{
    for (size_t i = 0; i < w->key_count; i++)
        if (!strcmp(w->keys[i], key))
            return true;
    return false;
}

static size_t
workers_serving(sl_sched_t *s, const char *key)
{
    return (uintptr_t)zhashx_lookup(s->serving, key);
}

/* w's keys are served by one more (delta 1) or one fewer (-1) worker. */
static void
count_serving(sl_sched_t *s, const sl_bworker_t *w, int delta)
{
    for (size_t i = 0; i < w->key_count; i++) {
        uintptr_t n = (uintptr_t)zhashx_lookup(s->serving, w->keys[i]);
        n = delta > 0 ? n + 1 : n - 1;
        if (n)
            zhashx_update(s->serving, w->keys[i], (void *)n);
        else
            zhashx_delete(s->serving, w->keys[i]);
    }
}
bool
sl_sched_enqueue(sl_sched_t *s, sl_job_t *job, const char *key, bool at_front)
{
    if (sl_job_enter(job, SL_JOB_QUEUED) < 0)
        return workers_serving(s, key) > 0;
    sl_squeue_t *q = queue_for(s, key);
    job->worker = NULL;
    job->queue = q;
    job->queued_ms = zclock_mono();
    job->queue_handle = q ? (at_front ? zlistx_add_start(q->jobs, job)
                                      : zlistx_add_end(q->jobs, job))
                          : NULL;
    s->queued += job->queue_handle != NULL;
    return workers_serving(s, key) > 0;
}

void
sl_sched_delay(sl_sched_t *s, sl_job_t *job, const char *key, int64_t due_ms)
{
    if (sl_job_enter(job, SL_JOB_DELAYED) < 0)
        return;
    job->worker = NULL;
    job->due_ms = due_ms;
    job->queue = queue_for(s, key);
    if (job->queue)
        job->queue->delayed++;
    job->queue_handle = zlistx_insert(s->delayed, job, false); /* by due */
}

size_t
sl_sched_release_due(sl_sched_t *s, int64_t now_ms)
{
    size_t n = 0;
    sl_job_t *job;
    while ((job = zlistx_first(s->delayed)) && job->due_ms <= now_ms) {
        zlistx_delete(s->delayed, job->queue_handle);
        job->queue_handle = NULL;
        sl_squeue_t *q = job->queue;
        if (q)
            q->delayed--;
        if (sl_job_enter(job, SL_JOB_QUEUED) == 0 && q) {
            job->queued_ms = now_ms;
            job->queue_handle = zlistx_add_end(q->jobs, job);
            s->queued += job->queue_handle != NULL;
        }
        if (!job->queue_handle) {
            job->queue = NULL;
            retire_queue(s, q);
        }
        n++;
    }
    return n;
}

int64_t
sl_sched_next_due(const sl_sched_t *s, int64_t now_ms)
{
    sl_job_t *job = zlistx_first(s->delayed);
    if (!job)
        return -1;
    return job->due_ms <= now_ms ? 0 : job->due_ms - now_ms;
}

void
sl_sched_dequeue(sl_sched_t *s, sl_job_t *job)
{
    sl_squeue_t *q = job->queue;
    if (job->state == SL_JOB_DELAYED && job->queue_handle) {
        zlistx_delete(s->delayed, job->queue_handle);
        if (q)
            q->delayed--;
    } else if (q && job->queue_handle) {
        zlistx_delete(q->jobs, job->queue_handle);
        s->queued--;
    }
    job->queue = NULL;
    job->queue_handle = NULL;
    retire_queue(s, q);
}

static int
add_key(sl_bworker_t *w, const char *key)
{
    if (serves(w, key))
        return 0;
    char **keys = realloc(w->keys, (w->key_count + 1) * sizeof *keys);
    if (!keys)
        return -1;
    w->keys = keys;
    w->keys[w->key_count] = strdup(key);
    if (!w->keys[w->key_count])
        return -1;
    w->key_count++;
    return 0;
}

/* Copies the hello's --exec rules and path into w. */
static int
copy_rules(sl_bworker_t *w, const sl_worker_hello_t *hello)
{
    w->exec_path = strdup(hello->exec_path ? hello->exec_path : "");
    w->exec_rules = calloc(hello->exec_rule_count + 1, sizeof *w->exec_rules);
    if (!w->exec_path || !w->exec_rules)
        return SL_ENOMEM;
    for (size_t i = 0; i < hello->exec_rule_count; i++) {
        if (!(w->exec_rules[i] = strdup(hello->exec_rules[i])))
            return SL_ENOMEM;
        w->exec_rule_count++;
    }
    return 0;
}

sl_bworker_t *
sl_sched_add_worker(sl_sched_t *s, zframe_t *identity,
                    const sl_worker_hello_t *hello)
{
    sl_bworker_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->id = strdup(hello->id);
    w->hostname = strdup(hello->hostname ? hello->hostname : "");
    w->pid = hello->pid;
    w->slots = hello->slots ? hello->slots : 1;
    w->incarnation = strdup(hello->incarnation ? hello->incarnation : "");
    w->last_seen_ms = zclock_mono();
    w->identity = zframe_dup(identity);
    w->held = zlistx_new();
    bool ok = w->id && w->hostname && w->identity && w->held && w->incarnation;
    for (size_t i = 0; ok && i < hello->task_count; i++) {
        char key[300];
        sl_sched_key(key, sizeof key, hello->tasks[i].name,
                     hello->tasks[i].version);
        ok = add_key(w, hello->tasks[i].name) == 0 && add_key(w, key) == 0;
    }
    ok = ok && copy_rules(w, hello) == 0;
    for (sl_squeue_t *q = ok ? zhashx_first(s->queues) : NULL; q;
         q = zhashx_next(s->queues))
        if (may_run(w, q->key))
            ok = add_key(w, q->key) == 0;
    char *hex = ok ? zframe_strhex(identity) : NULL;
    if (!hex || zhashx_insert(s->by_id, hex, w) != 0) {
        free(hex);
        destroy_worker((void **)&w);
        return NULL;
    }
    free(hex);
    zlistx_add_end(s->workers, w);
    count_serving(s, w, 1);
    return w;
}

int
sl_sched_rebind_worker(sl_sched_t *s, sl_bworker_t *w, zframe_t *identity)
{
    zframe_t *copy = zframe_dup(identity);
    char *old = zframe_strhex(w->identity), *hex = zframe_strhex(identity);
    int rc = SL_ENOMEM;
    if (copy && old && hex)
        rc = zhashx_rename(s->by_id, old, hex) == 0 ? 0 : SL_EEXIST;
    if (rc == 0) {
        zframe_destroy(&w->identity);
        w->identity = copy;
        copy = NULL;
    }
    zframe_destroy(&copy);
    free(old);
    free(hex);
    return rc;
}

sl_bworker_t *
sl_sched_find_worker(sl_sched_t *s, zframe_t *identity)
{
    char *hex = zframe_strhex(identity);
    sl_bworker_t *w = hex ? zhashx_lookup(s->by_id, hex) : NULL;
    free(hex);
    return w;
}

void
sl_sched_remove_worker(sl_sched_t *s, sl_bworker_t *w, zlistx_t *released)
{
    s->held -= w->in_flight;
    count_serving(s, w, -1);
    for (sl_job_t *job = zlistx_first(w->held); job;
         job = zlistx_next(w->held)) {
        job->held_handle = NULL;
        job->worker = NULL;
        if (released)
            zlistx_add_end(released, job);
    }
    void *handle = zlistx_find(s->workers, w);
    if (handle)
        zlistx_delete(s->workers, handle);
    char *hex = zframe_strhex(w->identity);
    zhashx_delete(s->by_id, hex); /* frees w */
    free(hex);
}

/* The prefetch w earns by its tasks' average compute time. */
static uint32_t
prefetch_of(const sl_sched_t *s, const sl_bworker_t *w)
{
    if (!w->has_avg)
        return s->prefetch;
    uint64_t earned = (uint64_t)w->slots * SL_SCHED_QUEUE_US /
                      (w->avg_task_us ? w->avg_task_us : 1);
    if (earned > SL_SCHED_PREFETCH_MAX)
        earned = SL_SCHED_PREFETCH_MAX;
    return earned > s->prefetch ? (uint32_t)earned : s->prefetch;
}

void
sl_sched_took(sl_bworker_t *w, uint64_t duration_us)
{
    /* an average over about the last 8 results, seeded by the first */
    w->avg_task_us =
        w->has_avg ? (w->avg_task_us * 7 + duration_us) / 8 : duration_us;
    w->has_avg = true;
}

uint32_t
sl_sched_credit(const sl_sched_t *s, const sl_bworker_t *w)
{
    uint32_t cap = w->slots + prefetch_of(s, w);
    return w->is_draining || w->is_solo || w->in_flight >= cap
               ? 0
               : cap - w->in_flight;
}

size_t
sl_sched_take(sl_sched_t *s, sl_bworker_t *w, sl_job_t **out, size_t max)
{
    /* a fair share of all the work out there, counting what w holds, and
     * at least its slots when it holds nothing */
    size_t n = 0, workers = zlistx_size(s->workers);
    size_t fair = workers ? (s->queued + s->held + workers - 1) / workers : max;
    size_t share = fair > w->in_flight ? fair - w->in_flight : 0;
    if (w->in_flight == 0 && share < w->slots)
        share = w->slots;
    if (max > share)
        max = share;
    bool is_progress = true, took_spread = false;
    while (n < max && is_progress) { /* round robin over w's queues */
        is_progress = false;
        for (size_t k = 0; k < w->key_count && n < max; k++) {
            sl_squeue_t *q = zhashx_lookup(s->queues, w->keys[k]);
            sl_job_t *job = q ? zlistx_first(q->jobs) : NULL;
            if (!job || (took_spread && is_spread(w->keys[k])))
                continue;
            if (is_spread(w->keys[k]))
                took_spread = s->took_spread = true;
            if (job->is_suspect && (n > 0 || w->in_flight > 0))
                return n;
            zlistx_delete(q->jobs, job->queue_handle);
            s->queued--;
            job->queue = NULL;
            job->queue_handle = NULL;
            retire_queue(s, q);
            is_progress = true;
            if (sl_job_enter(job, SL_JOB_RUNNING) < 0)
                continue; /* its run is broken: it settles */
            job->worker = w;
            job->attempt++;
            job->dispatched_us = zclock_usecs();
            job->held_handle = zlistx_add_end(w->held, job);
            w->in_flight++;
            s->held++;
            out[n++] = job;
            if (job->is_suspect) {
                w->is_solo = true;
                return n;
            }
        }
    }
    return n;
}

void
sl_sched_release(sl_sched_t *s, sl_job_t *job)
{
    sl_bworker_t *w = job->worker;
    if (w && job->held_handle) {
        zlistx_delete(w->held, job->held_handle);
        w->in_flight--;
        s->held--;
        if (job->is_suspect)
            w->is_solo = false;
    }
    job->held_handle = NULL;
    job->worker = NULL;
}

zlistx_t *
sl_sched_workers(sl_sched_t *s)
{
    return s->workers;
}

void
sl_sched_counts(const sl_sched_t *s, sl_sched_counts_t *out)
{
    out->queued = s->queued;
    out->delayed = zlistx_size(s->delayed);
    out->held = s->held;
    out->queues = zhashx_size(s->queues);
}

void
sl_sched_each_queue(sl_sched_t *s, sl_sched_queue_fn fn, void *ctx)
{
    for (sl_squeue_t *q = zhashx_first(s->queues); q;
         q = zhashx_next(s->queues))
        fn(q->key, zlistx_size(q->jobs), workers_serving(s, q->key),
           zlistx_first(q->jobs), ctx);
}

void
sl_sched_unserved(sl_sched_t *s, int64_t queued_before_ms, zlistx_t *out)
{
    for (sl_squeue_t *q = zhashx_first(s->queues); q;
         q = zhashx_next(s->queues)) {
        if (workers_serving(s, q->key) > 0)
            continue;
        for (sl_job_t *job = zlistx_first(q->jobs); job;
             job = zlistx_next(q->jobs))
            if (job->queued_ms < queued_before_ms)
                zlistx_add_end(out, job);
    }
}

sl_job_t *
sl_sched_leader(sl_sched_t *s, const sl_job_t *job)
{
    return job->has_identity ? sl_leaders_find(s->leaders, job->identity)
                             : NULL;
}

void
sl_sched_lead(sl_sched_t *s, sl_job_t *job)
{
    (void)sl_leaders_put(s->leaders, job); /* no memory: runs apart */
}

void
sl_sched_unlead(sl_sched_t *s, sl_job_t *job)
{
    if (job->has_identity)
        sl_leaders_remove(s->leaders, job);
}
