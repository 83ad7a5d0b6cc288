/* broker/backend.c: the worker socket: hellos, heartbeats, results (on
 * the connection that said Ready, or on a lane) and goodbyes; dispatch under
 * credit; workers declared dead; cancels sent to the workers that hold a
 * cancelled run's tasks. Runs on the broker loop thread.
 *
 * Workers connect with routing ids that libzmq makes (never one the worker
 * chooses) and the socket has no ROUTER_HANDOVER: two connections can never
 * claim one routing id, which is what aborted libzmq 4.3.4
 * (stream_engine_base.cpp:331) when two workers shared an id. A worker's
 * name is what it says in READY; a name already taken by a live worker of
 * another process gets a suffix ("w1~2"), and a process that connects
 * again is known by its incarnation and keeps what it held. */
#include "loop.h"

#include "load_stats.h"

#include "caps.h"
#include "log.h"
#include "outcome_wire.h"
#include "wire.h"
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BATCH 256
/* Suffixes tried for a worker name that is taken ("w1~2" ... ). */
#define NAME_SUFFIX_MAX 1000

/* The task name of job (borrowed from its run's flow). */
static const char *
task_of(const sl_job_t *job)
{
    return sl_run_flow(job->run)->nodes[job->node].task;
}

/* Forgets w; the jobs it held go back to their runs. is_death: it went
 * without saying goodbye, which counts towards the poison limit of the
 * jobs it was running, and makes every job it held a suspect. */
static void
drop_worker(loop_t *l, sl_bworker_t *w, const char *why, bool is_death)
{
    zlistx_t *held = zlistx_new();
    char reason[300];
    snprintf(reason, sizeof reason, "worker %s %s: %s", w->id,
             is_death ? "died" : "left", why);
    sl_log(is_death ? SL_LOG_WARN : SL_LOG_INFO, "broker",
           "worker=%s gone (%s), %u tasks requeued", w->id, why, w->in_flight);
    uint32_t slots = w->slots;
    sl_sched_remove_worker(l->sched, w, held);
    /* a worker runs what it holds in order: the oldest `slots` were
     * running when it died, the others only waited in its queue. A result
     * sent just before a crash can die with the process, so the blame may
     * miss: every job held becomes a suspect and runs alone from now on,
     * where a death is its own. Given back newest first, each to the front
     * of its queue, the oldest ends up first. */
    size_t i = held ? zlistx_size(held) : 0;
    for (sl_job_t *job = held ? zlistx_last(held) : NULL; job;
         job = zlistx_prev(held)) {
        i--;
        job->is_suspect |= is_death;
        sl_run_job_lost(job->run, l->sched, job, reason, is_death && i < slots);
        sl_bmetrics_lost(l->metrics, task_of(job), job);
        sl_loop_touch(l, job->run);
    }
    zlistx_destroy(&held);
    if (is_death)
        sl_bmetrics_worker_lost(l->metrics);
}

/* ---- dispatch ------------------------------------------------------------ */

/* A dispatch of job; args is a view to free after sending. */
static void
fill_task(const loop_t *l, sl_job_t *job, Sluice__Task *t)
{
    const sl_flow_t *flow = sl_run_flow(job->run);
    const sl_node_t *node = &flow->nodes[job->node];
    sluice__task__init(t);
    t->task_id = job->id;
    t->attempt = job->attempt;
    t->lease_ms = (uint64_t)l->opt->heartbeat_ms * l->opt->liveness;
    t->name = node->task;
    t->version = node->version;
    if (sl_wire_value_view(job->args, &t->args, NULL) < 0)
        t->args = NULL; /* over the caps: the broker checked them on
                           submit, so only memory can fail here; the
                           worker then fails the task */
    if (job->inputs && sl_wire_value_view(job->inputs, &t->inputs, NULL) < 0) {
        free(t->args); /* never without its inputs: that is another key */
        t->args = NULL;
        t->inputs = NULL;
    }
    t->cache = (Sluice__FlowNode__CacheMode)node->opt.cache;
    t->cache_key = node->opt.cache_key ? (char *)node->opt.cache_key : "";
    t->cache_namespace = flow->cache_namespace;
    t->cache_url = flow->cache_url ? flow->cache_url : "";
    t->ttl_ms = node->opt.ttl_ms ? node->opt.ttl_ms : flow->ttl_ms;
    t->refresh = node->opt.refresh;
    t->validate_inputs = node->opt.validate_inputs;
    t->timeout_ms = node->opt.timeout_ms;
}

/* Sends w the jobs[0..n) just taken for it; false if w is gone (dropped,
 * and its jobs given back). */
static bool
send_tasks(loop_t *l, sl_bworker_t *w, sl_job_t **jobs, size_t n)
{
    Sluice__Task tasks[MAX_BATCH];
    Sluice__Task *ptrs[MAX_BATCH];
    for (size_t i = 0; i < n; i++) {
        fill_task(l, jobs[i], &tasks[i]);
        ptrs[i] = &tasks[i];
    }
    Sluice__TaskBatch batch = SLUICE__TASK_BATCH__INIT;
    batch.tasks = ptrs;
    batch.n_tasks = n;
    batch.lanes = true; /* their results may come on lanes */
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_TASKS;
    env.tasks = &batch;
    sl_error_t err = {0};
    int rc = sl_envelope_send(l->back, w->identity, &env, &err);
    SL_TRACE("broker.send.tasks");
    for (size_t i = 0; i < n; i++) {
        free(tasks[i].args);
        free(tasks[i].inputs);
        if (rc == 0) {
            jobs[i]->is_unlisted = false;
            sl_run_job_started(jobs[i]->run, jobs[i], w->id);
            sl_bmetrics_dispatched(l->metrics, tasks[i].name, 1);
        }
        sl_loop_touch(l, jobs[i]->run);
    }
    if (rc < 0) /* gone or stuck: its tasks go to others */
        drop_worker(l, w, err.msg, true);
    return rc == 0;
}

void
sl_backend_dispatch(loop_t *l)
{
    sl_job_t *jobs[MAX_BATCH];
    zlistx_t *workers = sl_sched_workers(l->sched);
    bool is_progress = true;
    while (is_progress) {
        is_progress = false;
        sl_sched_round(l->sched);
        for (sl_bworker_t *w = zlistx_first(workers); w;
             w = zlistx_next(workers)) {
            uint32_t credit = sl_sched_credit(l->sched, w);
            size_t n = sl_sched_take(l->sched, w, jobs,
                                     credit < MAX_BATCH ? credit : MAX_BATCH);
            if (n == 0)
                continue;
            if (!send_tasks(l, w, jobs, n)) {
                is_progress = true;
                break; /* the list changed under us */
            }
            is_progress = is_progress || credit > MAX_BATCH;
        }
        is_progress = is_progress || sl_sched_took_spread(l->sched);
    }
}

/* Sends w a CancelTasks naming ids[0..n). */
static void
send_cancel(loop_t *l, sl_bworker_t *w, uint64_t *ids, size_t n)
{
    Sluice__CancelTasks c = SLUICE__CANCEL_TASKS__INIT;
    c.task_ids = ids;
    c.n_task_ids = n;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_CANCEL_TASKS;
    env.cancel_tasks = &c;
    sl_loop_send(l, l->back, w->identity, &env);
}

void
sl_backend_cancel_held(loop_t *l, zlistx_t *held)
{
    size_t count = zlistx_size(held), i = 0;
    sl_job_t **jobs = calloc(count + 1, sizeof *jobs);
    uint64_t ids[MAX_BATCH];
    for (sl_job_t *job = jobs ? zlistx_first(held) : NULL; job;
         job = zlistx_next(held))
        jobs[i++] = job;
    for (i = 0; jobs && i < count; i++) { /* one message per worker */
        sl_bworker_t *w = jobs[i] ? jobs[i]->worker : NULL;
        size_t n = 0;
        for (size_t k = i; w && k < count; k++) {
            if (!jobs[k] || jobs[k]->worker != w)
                continue;
            ids[n++] = jobs[k]->id;
            jobs[k] = NULL;
            if (n == MAX_BATCH) {
                send_cancel(l, w, ids, n);
                n = 0;
            }
        }
        if (n)
            send_cancel(l, w, ids, n);
    }
    free(jobs); /* without memory the workers finish them: late results
                   of cancelled jobs are dropped */
    zlistx_purge(held);
}

/* ---- hello ------------------------------------------------------------- */

/* The worker whose process has this incarnation, or NULL. */
static sl_bworker_t *
find_incarnation(loop_t *l, const char *incarnation)
{
    zlistx_t *workers = sl_sched_workers(l->sched);
    for (sl_bworker_t *w = zlistx_first(workers); w; w = zlistx_next(workers))
        if (*incarnation && !strcmp(w->incarnation, incarnation))
            return w;
    return NULL;
}

static sl_bworker_t *
find_name(loop_t *l, const char *name)
{
    zlistx_t *workers = sl_sched_workers(l->sched);
    for (sl_bworker_t *w = zlistx_first(workers); w; w = zlistx_next(workers))
        if (!strcmp(w->id, name))
            return w;
    return NULL;
}

/* Whether w's connection is gone: a heartbeat to it cannot be routed. */
static bool
is_gone(loop_t *l, sl_bworker_t *w)
{
    Sluice__Heartbeat hb = SLUICE__HEARTBEAT__INIT;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    return sl_loop_send(l, l->back, w->identity, &env) == SL_EIO;
}

/* The name a new worker that says `wanted` gets: wanted itself, unless a
 * live worker of another process has it; then wanted~2, ~3, ... A holder
 * whose connection is gone (a restart) is dropped and gives up its name. */
static int
pick_name(loop_t *l, const char *wanted, char *name, size_t size)
{
    sl_bworker_t *holder = find_name(l, wanted);
    if (holder && (holder->leave_at_ms || is_gone(l, holder))) {
        drop_worker(l, holder, "restarted", !holder->leave_at_ms);
        holder = NULL;
    }
    snprintf(name, size, "%s", wanted);
    for (int i = 2; holder && i < NAME_SUFFIX_MAX; i++) {
        snprintf(name, size, "%s~%d", wanted, i);
        holder = find_name(l, name);
    }
    return holder ? SL_EEXIST : 0;
}

/* Whether r's --exec rules are within bounds; why says what is not. */
static bool
are_rules_sane(const Sluice__Ready *r, char *why, size_t size)
{
    if (r->n_exec_rules > SL_EXEC_RULES_MAX_COUNT) {
        snprintf(why, size, "ready: %zu --exec rules, over the cap of %d",
                 r->n_exec_rules, SL_EXEC_RULES_MAX_COUNT);
        return false;
    }
    for (size_t i = 0; i < r->n_exec_rules; i++)
        if (!*r->exec_rules[i] ||
            strlen(r->exec_rules[i]) > SL_PROGRAM_NAME_MAX_BYTES) {
            snprintf(why, size,
                     "ready: --exec rule %zu is empty or over %d "
                     "bytes",
                     i + 1, SL_PROGRAM_NAME_MAX_BYTES);
            return false;
        }
    if (strlen(r->exec_path) > 4096) {
        snprintf(why, size, "ready: exec_path is over 4096 bytes");
        return false;
    }
    return true;
}

static void
on_ready(loop_t *l, zframe_t *id, sl_bworker_t *w, const Sluice__Ready *r)
{
    char why[200];
    if (!are_rules_sane(r, why, sizeof why))
        return sl_loop_send_error(l, l->back, id, why,
                                  SLUICE__ERROR__CODE__GENERIC);
    if (!w && (w = find_incarnation(l, r->incarnation)) &&
        sl_sched_rebind_worker(l->sched, w, id) == 0)
        sl_log(SL_LOG_INFO, "broker",
               "worker=%s connected again, holding %u tasks", w->id,
               w->in_flight);
    if (w && !strcmp(w->incarnation, r->incarnation)) {
        w->is_draining = false; /* the same process, saying hello again */
        w->leave_at_ms = 0;
        return;
    }
    if (w) /* its routing id, another process: it cannot be, but be safe */
        drop_worker(l, w, "restarted", true);
    char name[300], note[400];
    if (pick_name(l, r->worker_id, name, sizeof name) < 0)
        return sl_loop_send_error(l, l->back, id,
                                  "too many workers share this worker id",
                                  SLUICE__ERROR__CODE__GENERIC);
    sl_task_name_t *tasks = calloc(r->n_tasks + 1, sizeof *tasks);
    for (size_t i = 0; tasks && i < r->n_tasks; i++)
        tasks[i] = (sl_task_name_t){r->tasks[i]->name, r->tasks[i]->version};
    sl_worker_hello_t hello = {name,
                               r->hostname,
                               r->incarnation,
                               r->pid,
                               r->slots,
                               tasks,
                               tasks ? r->n_tasks : 0,
                               r->exec_rules,
                               r->n_exec_rules,
                               r->exec_path};
    w = tasks ? sl_sched_add_worker(l->sched, id, &hello) : NULL;
    free(tasks);
    if (!w)
        return sl_loop_send_error(l, l->back, id, "broker out of memory",
                                  SLUICE__ERROR__CODE__GENERIC);
    snprintf(w->key, sizeof w->key, "%s", l->peer_key);
    sl_log(SL_LOG_INFO, "broker", "worker=%s ready, slots=%u tasks=%zu host=%s",
           w->id, w->slots, r->n_tasks, w->hostname);
    if (strcmp(name, r->worker_id) == 0)
        return;
    snprintf(note, sizeof note,
             "worker id '%s' is taken by a live worker (another process); this "
             "worker is known as '%s': give each worker its own --id",
             r->worker_id, name);
    sl_log(SL_LOG_WARN, "broker", "worker=%s host=%s pid=%u: %s", name,
           w->hostname, w->pid, note);
    sl_loop_send_error(l, l->back, id, note, SLUICE__ERROR__CODE__GENERIC);
}

/* ---- heartbeats and results ------------------------------------------- */

/* A worker lists what it holds: a job it was given more than two
 * heartbeats ago and not listed by two heartbeats in a row never arrived
 * or was lost, and is given back to its run. One heartbeat is not enough:
 * the job's result may be on a lane, which the heartbeat overtook. */
static void
on_heartbeat(loop_t *l, sl_bworker_t *w, const Sluice__Heartbeat *hb)
{
    int64_t before = zclock_mono() - 2 * (int64_t)l->opt->heartbeat_ms;
    if (hb->draining && !w->is_draining)
        sl_log(SL_LOG_INFO, "broker", "worker=%s draining", w->id);
    w->is_draining = hb->draining;
    zlistx_t *lost = zlistx_new();
    for (sl_job_t *job = zlistx_first(w->held); job && lost;
         job = zlistx_next(w->held)) {
        bool is_listed = false;
        for (size_t i = 0; i < hb->n_held_task_ids && !is_listed; i++)
            is_listed = hb->held_task_ids[i] == job->id;
        bool was_unlisted = job->is_unlisted;
        job->is_unlisted = !is_listed && job->dispatched_us < before * 1000;
        if (job->is_unlisted && was_unlisted)
            zlistx_add_end(lost, job);
    }
    for (sl_job_t *job = lost ? zlistx_first(lost) : NULL; job;
         job = zlistx_next(lost)) {
        sl_log(SL_LOG_WARN, "broker", "worker=%s task=%llx lost, requeued",
               w->id, (unsigned long long)job->id);
        sl_sched_release(l->sched, job);
        sl_run_job_lost(job->run, l->sched, job, "the worker lost it", false);
        sl_bmetrics_lost(l->metrics, task_of(job), job);
        sl_loop_touch(l, job->run);
    }
    zlistx_destroy(&lost);
}

/* A result's value packed once, for the journal: the bytes the worker
 * sent, never decoded and encoded again. */
typedef struct {
    const Sluice__Value *msg; /* as received */
    sl_buf_t bytes;           /* packed on first use */
    bool is_packed;
} journal_value_t;

static void
journal_result(loop_t *l, const sl_job_t *job, journal_value_t *v)
{
    if (sl_runbook_journal_fd(l->runbook) < 0 || !v->msg)
        return;
    if (!v->is_packed) {
        size_t size = sluice__value__get_packed_size(v->msg);
        if (sl_buf_reserve(&v->bytes, size) < 0)
            return; /* not journalled: recomputed on a replay */
        sluice__value__pack(v->msg, (uint8_t *)v->bytes.data);
        v->bytes.size = size;
        v->is_packed = true;
    }
    sl_runbook_result(l->runbook, job, v->bytes.data, v->bytes.size);
}

/* The identical jobs that waited on job get its result, in their own runs. */
static void
serve_followers(loop_t *l, sl_job_t *job, const sl_value_t *value,
                journal_value_t *wire, const char *worker_id)
{
    zlistx_t *followers = job->followers;
    job->followers = NULL;
    for (sl_job_t *f = zlistx_first(followers); f; f = zlistx_next(followers)) {
        sl_value_t *copy = sl_value_copy(value);
        if (f->state == SL_JOB_FOLLOWING) {
            journal_result(l, f, wire);
            sl_bmetrics_shared(l->metrics, task_of(f));
        }
        sl_run_job_shared(f->run, l->sched, f, &copy, worker_id);
        sl_loop_touch(l, f->run);
    }
    zlistx_destroy(&followers);
}

/* /metrics counts what a load share's figures grew by since it last
 * reported (a retried share starts again from its own zero). */
static void
count_load(loop_t *l, sl_job_t *job, const sl_value_t *value)
{
    uint64_t now[3];
    if (strcmp(task_of(job), "load") || !sl_load_stats_counts(value, now))
        return;
    uint64_t d[3];
    for (int i = 0; i < 3; i++) {
        d[i] = now[i] > job->load_seen[i] ? now[i] - job->load_seen[i] : 0;
        job->load_seen[i] = now[i];
    }
    sl_bmetrics_load(l->metrics, d[0], d[1], d[2]);
}

/* A running task's figures so far: to the run's followers. */
static void
on_progress(loop_t *l, sl_bworker_t *w, const Sluice__Progress *p)
{
    sl_job_t *job = sl_runbook_job(l->runbook, p->task_id);
    sl_value_t *value = NULL;
    if (!job || job->worker != w || job->attempt != p->attempt ||
        sl_wire_value_unpack(p->value, &value, NULL) < 0)
        return; /* progress information: dropped */
    count_load(l, job, value);
    sl_run_job_progress(job->run, job, &value, w->id);
    sl_loop_touch(l, job->run);
}

static void
on_result(loop_t *l, sl_bworker_t *w, const Sluice__Result *r)
{
    sl_job_t *job = sl_runbook_job(l->runbook, r->task_id);
    if (!job || job->worker != w || job->attempt != r->attempt) {
        sl_log(SL_LOG_DEBUG, "broker",
               "worker=%s task=%llx attempt=%u result dropped: the worker does "
               "not hold that task",
               w->id, (unsigned long long)r->task_id, r->attempt);
        return;
    }
    sl_run_t *run = job->run;
    sl_value_t *value = NULL;
    sl_error_t err = {0};
    sl_outcome_t o;
    sl_outcome_from_wire(r, &o);
    if (o.is_ok && sl_wire_value_unpack(r->value, &value, &err) < 0) {
        o.is_ok = false;
        o.failure = SL_FAIL_TASK;
        o.error = err.msg;
    }
    w->done++;
    w->cache_errors += o.cache == SL_CACHE_OUTCOME_ERROR;
    sl_sched_took(w, o.duration_us);
    bool was_running = job->state == SL_JOB_RUNNING;
    journal_value_t wire = {.msg = r->value};
    if (o.is_ok && was_running)
        journal_result(l, job, &wire);
    sl_value_t *shared = job->followers ? sl_value_copy(value) : NULL;
    if (!o.is_ok && was_running)
        sl_run_keep_logs(run, job, r->attempt, o.error, w->id,
                         r->stdout_tail.data, r->stdout_tail.len,
                         r->stderr_tail.data, r->stderr_tail.len);
    if (o.is_ok && was_running)
        count_load(l, job, value);
    sl_run_job_result(run, l->sched, job, &o, &value, w->id);
    if (was_running)
        sl_bmetrics_result(l->metrics, task_of(job), job, &o);
    sl_loop_touch(l, run);
    if (job->state == SL_JOB_DONE && job->followers)
        serve_followers(l, job, shared, &wire, w->id);
    sl_value_destroy(&shared);
    sl_buf_fini(&wire.bytes);
}

/* A worker that said goodbye is dropped once it holds nothing, or when
 * its lanes have had a heartbeat to deliver what they carried. */
static void
leave(loop_t *l, sl_bworker_t *w, const char *why)
{
    if (w->in_flight == 0)
        return drop_worker(l, w, why, false);
    sl_log(SL_LOG_INFO, "broker",
           "worker=%s leaving (%s), holding %u tasks: their answers may "
           "still be on its lanes",
           w->id, why, w->in_flight);
    w->is_draining = true;
    w->leave_at_ms = zclock_mono() + l->opt->heartbeat_ms;
}

void
sl_backend_on_message(loop_t *l)
{
    zframe_t *id;
    Sluice__Envelope *env = sl_loop_receive(l, l->back, &id);
    if (!env)
        return;
    sl_bworker_t *w = sl_sched_find_worker(l->sched, id);
    /* what to do with it: NOT_SET once refused (the envelope's own case
     * stays, for sl_envelope_free to free what it holds) */
    Sluice__Envelope__BodyCase body = env->body_case;
    /* results on a lane: their worker is the one of that incarnation */
    bool is_lane = !w && body == SLUICE__ENVELOPE__BODY_RESULTS &&
                   *env->results->incarnation;
    if (is_lane && !(w = find_incarnation(l, env->results->incarnation))) {
        sl_log(SL_LOG_INFO, "broker",
               "%zu results on a lane of incarnation %.64s dropped: no "
               "worker here has it (a restart? its tasks are queued again)",
               env->results->n_results, env->results->incarnation);
        body = SLUICE__ENVELOPE__BODY__NOT_SET;
    }
    if (w && strcmp(w->key, l->peer_key) != 0) {
        /* a worker belongs to the key that said READY: a lane with another
         * key cannot answer for it (on the Ready connection it cannot
         * happen: the routing id is libzmq's, per connection) */
        sl_loop_bad(l,
                    "worker=%s refused %s with key %s: the worker said READY "
                    "with key %s",
                    w->id, is_lane ? "results on a lane" : "a message",
                    l->peer_key, w->key);
        sl_auth_count_refused(l->auth);
        w = NULL;
        body = SLUICE__ENVELOPE__BODY__NOT_SET;
    }
    if (w && !is_lane) /* liveness is the Ready connection's */
        w->last_seen_ms = zclock_mono();
    switch (body) {
    case SLUICE__ENVELOPE__BODY_READY: on_ready(l, id, w, env->ready); break;
    case SLUICE__ENVELOPE__BODY_RESULTS:
    case SLUICE__ENVELOPE__BODY_HEARTBEAT:
    case SLUICE__ENVELOPE__BODY_PROGRESS:
        if (!w) {
            sl_log(SL_LOG_INFO, "broker",
                   "an unknown worker's %s refused, asked to send READY",
                   sl_envelope_kind(env));
            sl_loop_send_error(l, l->back, id,
                               "unknown worker: send READY first",
                               SLUICE__ERROR__CODE__UNKNOWN_PEER);
        } else if (body == SLUICE__ENVELOPE__BODY_RESULTS) {
            if (is_lane)
                sl_log(SL_LOG_DEBUG, "broker",
                       "worker=%s %zu results on a lane", w->id,
                       env->results->n_results);
            for (size_t i = 0; i < env->results->n_results; i++)
                on_result(l, w, env->results->results[i]);
            if (w->leave_at_ms && w->in_flight == 0)
                drop_worker(l, w, "said goodbye", false);
        } else if (body == SLUICE__ENVELOPE__BODY_PROGRESS) {
            on_progress(l, w, env->progress);
        } else {
            on_heartbeat(l, w, env->heartbeat);
        }
        break;
    case SLUICE__ENVELOPE__BODY_DISCONNECT:
        if (w)
            leave(l, w, env->disconnect->reason);
        break;
    case SLUICE__ENVELOPE__BODY__NOT_SET: break; /* refused above */
    default:
        sl_loop_send_error(l, l->back, id,
                           "this message type is not taken on the worker "
                           "socket",
                           SLUICE__ERROR__CODE__GENERIC);
    }
    sl_envelope_free(&env);
    zframe_destroy(&id);
}

/* ---- ticks -----------------------------------------------------------------
 */

/* Jobs no connected worker serves fail once they have waited as long as
 * their run allows (Submit.worker_wait_ms). */
static void
give_up_unserved(loop_t *l, int64_t now)
{
    zlistx_t *waiting = zlistx_new();
    if (!waiting)
        return;
    sl_sched_unserved(l->sched, now, waiting);
    for (sl_job_t *job = zlistx_first(waiting); job;
         job = zlistx_next(waiting)) {
        uint64_t wait = sl_run_worker_wait_ms(job->run);
        if (!wait || now - job->queued_ms < (int64_t)wait)
            continue;
        char why[SL_QUEUE_KEY_BYTES + 200];
        const char *program = !strcmp(task_of(job), SL_PROGRAM_TASK)
                                  ? sl_program_name(job->args)
                                  : NULL;
        if (program)
            snprintf(why, sizeof why,
                     "no connected worker may run program '%s' (waited %llu "
                     "ms for one)",
                     program, (unsigned long long)wait);
        else
            snprintf(why, sizeof why,
                     "no connected worker serves task '%s' (waited %llu ms "
                     "for one)",
                     task_of(job), (unsigned long long)wait);
        sl_run_job_give_up(job->run, l->sched, job, why);
        sl_loop_touch(l, job->run);
    }
    zlistx_destroy(&waiting);
}

void
sl_backend_tick(loop_t *l)
{
    int64_t now = zclock_mono();
    int64_t dead_before =
        now - (int64_t)l->opt->heartbeat_ms * l->opt->liveness;
    zlistx_t *workers = sl_sched_workers(l->sched);
    Sluice__Heartbeat hb = SLUICE__HEARTBEAT__INIT;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    bool is_changed = true;
    while (is_changed) { /* dropping one changes the list: start again */
        is_changed = false;
        for (sl_bworker_t *w = zlistx_first(workers); w;
             w = zlistx_next(workers)) {
            if (w->leave_at_ms) { /* its connection is gone: no beat */
                if (now < w->leave_at_ms)
                    continue;
                drop_worker(l, w, "said goodbye", false);
                is_changed = true;
                break;
            }
            bool is_silent = w->last_seen_ms < dead_before;
            if (!is_silent &&
                sl_loop_send(l, l->back, w->identity, &env) != SL_EIO)
                continue;
            drop_worker(l, w,
                        is_silent ? "missed its heartbeats"
                                  : "its connection is gone",
                        true);
            is_changed = true;
            break;
        }
    }
    give_up_unserved(l, now);
}

void
sl_backend_drop_revoked(loop_t *l)
{
    zlistx_t *all = sl_sched_workers(l->sched);
    bool is_changed = true;
    while (is_changed) { /* dropping one changes the list: start again */
        is_changed = false;
        for (sl_bworker_t *w = zlistx_first(all); w; w = zlistx_next(all)) {
            if (sl_auth_has_key(l->auth, SL_AUTH_WORKERS, w->key))
                continue;
            drop_worker(l, w, "its key was revoked", false);
            is_changed = true;
            break;
        }
    }
}
