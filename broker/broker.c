/* broker/broker.c: the broker loop (a CZMQ actor): one thread, no locks,
 * like Redis. Owns both ROUTER sockets, the scheduler and every run. Every
 * frame from the network is decoded and checked here before any other part
 * sees it; a bad one is answered with an error or dropped, never trusted. */
#include "broker.h"

#include "auth.h"
#include "broker_metrics.h"
#include "envelope.h"
#include "flow_wire.h"
#include "http.h"
#include "log.h"
#include "procmem.h"
#include "run.h"
#include "runbook.h"
#include "scheduler.h"
#include "syncer.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BATCH 256
/* A submitted run waits this long before a journal sync is started for it:
 * a run that finishes sooner is accepted with its result and needs none
 * (on a 2-core VM each fdatasync costs ~260 us, and the CPU it takes from
 * the other threads cost one-task runs 130 us of latency). */
#define SYNC_DELAY_MS 2
/* Binding a socket again after a revocation: tries, 1 ms apart. */
#define BIND_AGAIN_TRIES 1000

struct sl_broker {
    sl_broker_options_t opt;  /* strings borrowed until the actor says ok */
    zactor_t *actor;          /* the broker thread */
};

typedef struct {
    const sl_broker_options_t *opt; /* read-only */
    zsock_t *pipe;                  /* to the owner */
    zsock_t *front;                 /* ROUTER for clients */
    zsock_t *back;                  /* ROUTER for workers */
    zpoller_t *poller;              /* pipe, front, back */
    sl_sched_t *sched;              /* queues and workers */
    sl_runbook_t *runbook;          /* every run, and the journal */
    zlistx_t *touched;              /* runs changed in this step, borrowed */
    bool is_stopping;               /* SIGTERM: no new runs */
    int64_t started_ms;             /* monotonic time the loop started */
    sl_syncer_t *syncer;            /* syncs the journal off this thread */
    zlistx_t *unconfirmed;          /* runs whose Accepted waits for a
                                       sync, oldest first, borrowed */
    size_t syncing;                 /* of which the sync in flight covers */
    sl_auth_t *auth;                /* CURVE keys and allow-lists; NULL in
                                       the clear */
    char peer_key[SL_CURVE_KEY_TEXT]; /* the CURVE key of the message just
                                       received ("" in the clear) */
    sl_bmetrics_t *metrics;         /* counters for /metrics and status */
    sl_http_t *http;                /* /metrics, /healthz, /readyz; NULL
                                       without --http */
    char http_at[300];              /* its address, with the port bound */
} loop_t;

/* The task name of job (borrowed from its run's flow). */
static const char *
task_of(const sl_job_t *job)
{
    return sl_run_flow(job->run)->nodes[job->node].task;
}

/* Sends env; a failure is logged here and its code returned (SL_EIO: the
 * peer is gone, SL_ETIMEDOUT: its queue is full). */
static int
send_env(loop_t *l, zsock_t *sock, zframe_t *to, Sluice__Envelope *env)
{
    sl_error_t err = {0};
    int rc = sl_envelope_send(sock, to, env, &err);
    if (rc < 0)
        sl_log(SL_LOG_DEBUG, "broker", "%s not delivered: %s",
               sl_envelope_kind(env), err.msg);
    (void)l;
    return rc;
}

/* Sends a packed envelope kept for it (a finished run's result). */
static void
send_frame(loop_t *l, zsock_t *sock, zframe_t *to, zframe_t *packed)
{
    sl_error_t err = {0};
    if (sl_envelope_send_packed(sock, to, packed, &err) < 0)
        sl_log(SL_LOG_DEBUG, "broker", "run result not delivered: %s",
               err.msg);
    (void)l;
}

static void
send_error_code(loop_t *l, zsock_t *sock, zframe_t *to, const char *reason,
                Sluice__Error__Code code)
{
    Sluice__Error e = SLUICE__ERROR__INIT;
    e.reason = (char *)reason;
    e.code = code;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_ERROR;
    env.error = &e;
    send_env(l, sock, to, &env);
}

static void
send_error(loop_t *l, zsock_t *sock, zframe_t *to, const char *reason)
{
    send_error_code(l, sock, to, reason, SLUICE__ERROR__CODE__GENERIC);
}

static void
touch(loop_t *l, sl_run_t *run)
{
    if (!zlistx_find(l->touched, run))
        zlistx_add_end(l->touched, run);
}

/* ---- dispatch -------------------------------------------------------- */

static void fill_task(sl_job_t *job, Sluice__Task *t, uint64_t lease_ms);

/* Forgets w; the jobs it held go back to their queues. is_death: it went
 * without saying goodbye, which counts towards the poison limit of the
 * jobs it was running, and makes every job it held a suspect. */
static void
drop_worker(loop_t *l, sl_bworker_t *w, const char *why, bool is_death)
{
    zlistx_t *held = zlistx_new();
    char reason[300];
    snprintf(reason, sizeof reason, "worker %s %s: %s", w->id,
             is_death ? "died" : "left", why);
    sl_log(is_death ? SL_LOG_WARN : SL_LOG_INFO, "broker", "worker=%s gone "
           "(%s), %u tasks requeued", w->id, why, w->in_flight);
    uint32_t slots = w->slots;
    sl_sched_remove_worker(l->sched, w, held);
    /* a worker runs what it holds in order: the oldest `slots` were
     * running when it died, the others only waited in its queue. A result
     * sent just before a crash can die with the process, so the blame may
     * miss: every job held becomes a suspect and runs alone from now on,
     * where a death is its own */
    size_t i = zlistx_size(held);
    for (sl_job_t *job = zlistx_last(held); job; job = zlistx_prev(held)) {
        i--; /* newest first, each to the front: the oldest ends up first */
        job->is_suspect |= is_death;
        sl_run_job_lost(job->run, l->sched, job, reason,
                        is_death && i < slots);
        sl_bmetrics_lost(l->metrics, task_of(job), job);
        touch(l, job->run);
    }
    zlistx_destroy(&held);
    if (is_death)
        sl_bmetrics_worker_lost(l->metrics);
}

/* Sends each worker as many queued tasks as its credit allows. */
static void
dispatch(loop_t *l)
{
    sl_job_t *jobs[MAX_BATCH];
    Sluice__Task tasks[MAX_BATCH];
    Sluice__Task *ptrs[MAX_BATCH];
    zlistx_t *workers = sl_sched_workers(l->sched);
    bool is_progress = true;
    while (is_progress) {
        is_progress = false;
        for (sl_bworker_t *w = zlistx_first(workers); w;
             w = zlistx_next(workers)) {
            uint32_t credit = sl_sched_credit(l->sched, w);
            size_t n = sl_sched_take(l->sched, w, jobs,
                                     credit < MAX_BATCH ? credit : MAX_BATCH);
            if (n == 0)
                continue;
            for (size_t i = 0; i < n; i++) {
                fill_task(jobs[i], &tasks[i], (uint64_t)l->opt->heartbeat_ms *
                                                  l->opt->liveness);
                ptrs[i] = &tasks[i];
            }
            Sluice__TaskBatch batch = SLUICE__TASK_BATCH__INIT;
            batch.tasks = ptrs;
            batch.n_tasks = n;
            Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
            env.body_case = SLUICE__ENVELOPE__BODY_TASKS;
            env.tasks = &batch;
            sl_error_t err = {0};
            int rc = sl_envelope_send(l->back, w->identity, &env, &err);
            for (size_t i = 0; i < n; i++) {
                free(tasks[i].args);
                if (rc == 0) {
                    sl_run_job_started(jobs[i]->run, jobs[i], w->id);
                    sl_bmetrics_dispatched(l->metrics, tasks[i].name, 1);
                }
                touch(l, jobs[i]->run);
            }
            if (rc < 0) { /* gone or stuck: its tasks go to others */
                drop_worker(l, w, err.msg, true);
                is_progress = true;
                break; /* the list changed under us */
            }
            is_progress = is_progress || credit > MAX_BATCH;
        }
    }
}

/* A dispatch of job; args is a view to free after sending. */
static void
fill_task(sl_job_t *job, Sluice__Task *t, uint64_t lease_ms)
{
    const sl_flow_t *flow = sl_run_flow(job->run);
    const sl_node_t *node = &flow->nodes[job->node];
    sluice__task__init(t);
    t->task_id = job->id;
    t->attempt = job->attempt;
    t->lease_ms = lease_ms;
    t->name = node->task;
    t->version = node->version;
    if (sl_wire_value_view(job->args, &t->args, NULL) < 0)
        t->args = NULL; /* the worker then fails it: args must be a list */
    t->cache = (Sluice__FlowNode__CacheMode)node->opt.cache;
    t->cache_key = node->opt.cache_key ? (char *)node->opt.cache_key : "";
    t->cache_namespace = flow->cache_namespace;
    t->cache_url = flow->cache_url ? flow->cache_url : "";
    t->ttl_ms = node->opt.ttl_ms ? node->opt.ttl_ms : flow->ttl_ms;
    t->refresh = node->opt.refresh;
    t->validate_inputs = node->opt.validate_inputs;
    t->timeout_ms = node->opt.timeout_ms;
}

/* ---- runs -------------------------------------------------------------- */

/* A result over the message cap keeps its states, counts and errors; the
 * values stay in the cache. */
static void
drop_values(Sluice__RunResult *result)
{
    for (size_t i = 0; i < result->n_nodes; i++) {
        Sluice__NodeResult *n = result->nodes[i];
        if (!n->value)
            continue;
        free(n->value); /* a view: see sl_run_result_free */
        n->value = NULL;
        if (!*n->error)
            n->error = "the results of this run are over the message cap; "
                       "each task's result is in the cache";
    }
}

/* The run's result packed once, to be sent, journalled and kept; its data
 * is NULL without memory. */
static ProtobufCBinaryData
pack_result(Sluice__RunResult *result)
{
    ProtobufCBinaryData out = {0};
    out.len = sluice__run_result__get_packed_size(result);
    if (out.len > SL_MSG_MAX_BYTES - 64) { /* room for the envelope */
        drop_values(result);
        out.len = sluice__run_result__get_packed_size(result);
    }
    if ((out.data = malloc(out.len ? out.len : 1)))
        sluice__run_result__pack(result, out.data);
    return out;
}

static void send_accepted(loop_t *l, sl_run_t *run);

/* A run that finished before its journal sync is accepted at once: its
 * client is about to hold the result, so a restart owes it nothing. The
 * sync in flight, if it covers the run, now covers one run fewer. */
static void
accept_finished(loop_t *l, sl_run_t *run)
{
    size_t i = 0;
    for (sl_run_t *r = zlistx_first(l->unconfirmed); r;
         r = zlistx_next(l->unconfirmed), i++) {
        if (r != run)
            continue;
        zlistx_delete(l->unconfirmed, zlistx_cursor(l->unconfirmed));
        if (i < l->syncing)
            l->syncing--;
        break;
    }
    sl_run_set_unconfirmed(run, false);
    send_accepted(l, run);
}

static void
flush(loop_t *l)
{
    for (sl_run_t *run = zlistx_first(l->touched); run;
         run = zlistx_next(l->touched)) {
        Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
        if (sl_run_is_unconfirmed(run) && !sl_run_is_finished(run))
            continue; /* its news waits for its Accepted */
        if (sl_run_is_unconfirmed(run))
            accept_finished(l, run);
        if (sl_run_has_events(run) && !sl_run_client(run)) {
            sl_run_events_sent(run); /* nobody follows it (yet) */
        } else if (sl_run_has_events(run)) {
            Sluice__EventBatch batch;
            sl_run_events(run, &batch);
            env.body_case = SLUICE__ENVELOPE__BODY_EVENTS;
            env.events = &batch;
            send_env(l, l->front, sl_run_client(run), &env);
            sl_run_events_sent(run);
        }
        if (!sl_run_take_finish(run))
            continue;
        Sluice__RunResult *result = sl_run_result(run);
        ProtobufCBinaryData packed = result ? pack_result(result)
                                            : (ProtobufCBinaryData){0};
        zframe_t *kept = packed.data
                             ? sl_runbook_finished(l->runbook, run, packed)
                             : NULL;
        if (kept && sl_run_client(run))
            send_frame(l, l->front, sl_run_client(run), kept);
        bool has_failed = !result ||
                          result->state != SLUICE__RUN_RESULT__STATE__DONE;
        sl_bmetrics_run_finished(l->metrics, has_failed,
                                 sl_run_started_us(run));
        if (result)
            sl_log(SL_LOG_INFO, "broker", "run=%s flow=\"%s\" %s",
                   sl_run_id(run), result->flow,
                   has_failed ? "failed" : "done");
        free(packed.data);
        sl_run_result_free(&result);
    }
    zlistx_purge(l->touched);
    sl_runbook_write(l->runbook);
}

static void
send_accepted(loop_t *l, sl_run_t *run)
{
    Sluice__Accepted acc = SLUICE__ACCEPTED__INIT;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    acc.run_id = (char *)sl_run_id(run);
    acc.nodes = (uint32_t)sl_run_flow(run)->node_count;
    env.body_case = SLUICE__ENVELOPE__BODY_ACCEPTED;
    env.accepted = &acc;
    send_env(l, l->front, sl_run_client(run), &env);
    sl_log(SL_LOG_INFO, "broker", "run=%s flow=\"%s\" accepted, %u nodes",
           sl_run_id(run), sl_run_flow(run)->name, acc.nodes);
}

static void
send_rejected(loop_t *l, zframe_t *client, const char *reason)
{
    Sluice__Rejected rej = SLUICE__REJECTED__INIT;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    sl_log(SL_LOG_INFO, "broker", "submit rejected: %s", reason);
    rej.reason = (char *)reason;
    env.body_case = SLUICE__ENVELOPE__BODY_REJECTED;
    env.rejected = &rej;
    send_env(l, l->front, client, &env);
}

/* A run is started at once, but Accepted waits until the journal holding
 * it is on disk (a sync on the syncer's thread, shared by every run
 * submitted meanwhile) or the run has finished, whichever comes first: the
 * client is told only what a restart keeps, or the whole answer. */
static void
on_submit(loop_t *l, zframe_t *client, const Sluice__Submit *s)
{
    sl_error_t err = {0};
    sl_run_t *run = l->is_stopping
                        ? NULL
                        : sl_runbook_submit(l->runbook, s, client, &err);
    if (l->is_stopping)
        sl_error_set(&err, SL_EREJECTED, "the broker is stopping");
    sl_bmetrics_submitted(l->metrics, run != NULL);
    if (!run)
        return send_rejected(l, client, err.msg);
    if (sl_runbook_journal_fd(l->runbook) >= 0) {
        sl_run_set_unconfirmed(run, true);
        zlistx_add_end(l->unconfirmed, run);
    } else {
        send_accepted(l, run);
    }
    sl_run_start(run, l->sched);
    touch(l, run);
}

/* When the oldest unconfirmed run wants a sync; -1: none waits. */
static int64_t
sync_due(loop_t *l)
{
    sl_run_t *oldest = zlistx_first(l->unconfirmed);
    return oldest ? sl_run_unconfirmed_since(oldest) + SYNC_DELAY_MS : -1;
}

/* Starts a sync of the journal, unless one is in flight: for the runs
 * waiting for one once the oldest has waited SYNC_DELAY_MS, and on a tick
 * for whatever was written since the last (results, ends). */
static void
start_sync(loop_t *l, bool is_tick)
{
    int64_t due = sync_due(l);
    if (sl_runbook_journal_fd(l->runbook) < 0 || sl_syncer_is_busy(l->syncer))
        return;
    if (!is_tick && (due < 0 || zclock_mono() < due))
        return;
    sl_runbook_write(l->runbook);
    if (sl_syncer_start(l->syncer, sl_runbook_journal_fd(l->runbook)) == 0)
        l->syncing = zlistx_size(l->unconfirmed);
}

/* The sync ended: the runs it covered are accepted (their held news goes
 * out at the next flush), or, if it failed, rejected and cancelled. */
static void
on_synced(loop_t *l)
{
    int rc = sl_syncer_finish(l->syncer);
    for (; l->syncing > 0; l->syncing--) {
        sl_run_t *run = zlistx_first(l->unconfirmed);
        zlistx_delete(l->unconfirmed, zlistx_cursor(l->unconfirmed));
        sl_run_set_unconfirmed(run, false);
        if (rc == 0) {
            send_accepted(l, run);
        } else {
            char why[300];
            snprintf(why, sizeof why, "the broker cannot sync its journal: %s",
                     strerror(rc));
            sl_log(SL_LOG_ERROR, "broker", "run=%s %s", sl_run_id(run), why);
            send_rejected(l, sl_run_client(run), why);
            sl_run_cancel(run, l->sched, why);
            sl_run_set_client(run, NULL);
        }
        touch(l, run);
    }
}

/* A client follows a run from now on: Accepted, then its events, or at
 * once its result if it has finished. */
static void
on_watch(loop_t *l, zframe_t *client, const Sluice__Watch *w)
{
    sl_run_t *run = sl_runbook_find(l->runbook, w->run_id);
    zframe_t *result = sl_runbook_result_of(l->runbook, w->run_id);
    if (!run && !result)
        return send_error(l, l->front, client, "watch: no such run");
    Sluice__Accepted acc = SLUICE__ACCEPTED__INIT;
    acc.run_id = w->run_id;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_ACCEPTED;
    env.accepted = &acc;
    send_env(l, l->front, client, &env);
    if (run)
        sl_run_set_client(run, client);
    if (result)
        send_frame(l, l->front, client, result);
}

/* Ends a run; the canceller gets the run's status back, the submitter its
 * RunResult (state failed, unfinished nodes "cancelled"). */
static void
on_cancel(loop_t *l, zframe_t *client, const Sluice__Cancel *c)
{
    sl_run_t *run = sl_runbook_find(l->runbook, c->run_id);
    if (!run)
        return send_error(l, l->front, client, "cancel: no such run");
    bool was_finished = sl_run_is_finished(run);
    if (!was_finished) {
        sl_run_cancel(run, l->sched, "cancelled");
        sl_log(SL_LOG_INFO, "broker", "run=%s cancelled", sl_run_id(run));
        touch(l, run);
    }
    Sluice__RunStatus rs, *ptr = &rs;
    sl_run_status(run, &rs);
    Sluice__StatusReply reply = SLUICE__STATUS_REPLY__INIT;
    reply.runs = &ptr;
    reply.n_runs = 1;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_STATUS;
    env.status = &reply;
    send_env(l, l->front, client, &env);
}

/* ---- status -------------------------------------------------------------- */

typedef struct {
    Sluice__QueueStatus *items;  /* storage, count allocated */
    Sluice__QueueStatus **ptrs;
    size_t count;                /* filled */
    size_t cap;                  /* allocated */
} queues_t;

static void
add_queue(const char *key, size_t depth, size_t workers, void *ctx)
{
    queues_t *q = ctx;
    if (q->count == q->cap || (depth == 0 && workers == 0))
        return;
    Sluice__QueueStatus *s = &q->items[q->count];
    sluice__queue_status__init(s);
    s->task = (char *)key;
    s->depth = (uint32_t)depth;
    s->workers = (uint32_t)workers;
    q->ptrs[q->count++] = s;
}

static void
fill_worker(sl_bworker_t *w, Sluice__WorkerStatus *ws, Sluice__TaskRef *refs,
            Sluice__TaskRef **ptrs)
{
    sluice__worker_status__init(ws);
    ws->worker_id = w->id;
    ws->hostname = w->hostname;
    ws->pid = w->pid;
    ws->slots = w->slots;
    ws->in_flight = w->in_flight;
    ws->draining = w->is_draining;
    ws->done = w->done;
    ws->cache_errors = w->cache_errors;
    ws->last_seen_ms = (uint64_t)(zclock_mono() - w->last_seen_ms);
    for (size_t k = 0; k < w->key_count; k++) {
        char *at = strchr(w->keys[k], '@');
        if (!at)
            continue; /* every task is listed both ways: keep name@version */
        Sluice__TaskRef *r = &refs[ws->n_tasks];
        sluice__task_ref__init(r);
        r->name = w->keys[k];
        r->version = (uint32_t)strtoul(at + 1, NULL, 10);
        ptrs[ws->n_tasks++] = r;
    }
    ws->tasks = ptrs;
}

/* The broker's counters and queue in its status. */
static void
fill_counts(loop_t *l, Sluice__BrokerStatus *bs)
{
    sl_bmetrics_totals_t t;
    sl_sched_counts_t c;
    sl_bmetrics_totals(l->metrics, &t);
    sl_sched_counts(l->sched, &c);
    bs->tasks_dispatched = t.dispatched;
    bs->tasks_completed = t.completed;
    bs->tasks_cached = t.cached;
    bs->tasks_shared = t.shared;
    bs->tasks_failed = t.failed;
    bs->tasks_retried = t.retried;
    bs->workers_lost = t.workers_lost;
    bs->tasks_queued = c.queued;
    bs->tasks_delayed = c.delayed;
    bs->tasks_in_flight = c.held;
    bs->http = l->http_at;
}

static void
on_status(loop_t *l, zframe_t *client, const Sluice__StatusRequest *req)
{
    zlistx_t *workers = sl_sched_workers(l->sched);
    size_t nw = zlistx_size(workers), nr = sl_runbook_count(l->runbook);
    size_t keys = 0;
    for (sl_bworker_t *w = zlistx_first(workers); w; w = zlistx_next(workers))
        keys += w->key_count;
    Sluice__WorkerStatus *ws = calloc(nw + 1, sizeof *ws);
    Sluice__WorkerStatus **wptrs = calloc(nw + 1, sizeof *wptrs);
    Sluice__TaskRef *refs = calloc(keys + 1, sizeof *refs);
    Sluice__TaskRef **rptrs = calloc(keys + 1, sizeof *rptrs);
    Sluice__RunStatus *rs = calloc(nr + 1, sizeof *rs);
    Sluice__RunStatus **rsptrs = calloc(nr + 1, sizeof *rsptrs);
    size_t nq = 1024;
    queues_t q = {calloc(nq, sizeof *q.items), calloc(nq, sizeof *q.ptrs), 0,
                  nq};
    Sluice__StatusReply reply = SLUICE__STATUS_REPLY__INIT;
    if (!ws || !wptrs || !refs || !rptrs || !rs || !rsptrs || !q.items ||
        !q.ptrs) {
        send_error(l, l->front, client, "broker out of memory");
        goto out;
    }
    size_t i = 0, used = 0;
    for (sl_bworker_t *w = zlistx_first(workers); w;
         w = zlistx_next(workers), i++) {
        fill_worker(w, &ws[i], refs + used, rptrs + used);
        used += ws[i].n_tasks;
        wptrs[i] = &ws[i];
    }
    reply.workers = wptrs;
    reply.n_workers = nw;
    sl_sched_each_queue(l->sched, add_queue, &q);
    reply.queues = q.ptrs;
    reply.n_queues = q.count;
    for (sl_run_t *run = sl_runbook_first(l->runbook); run;
         run = sl_runbook_next(l->runbook)) {
        if (*req->run_id && strcmp(req->run_id, sl_run_id(run)) != 0)
            continue;
        sl_run_status(run, &rs[reply.n_runs]);
        rsptrs[reply.n_runs] = &rs[reply.n_runs];
        reply.n_runs++;
    }
    reply.runs = rsptrs;
    Sluice__BrokerStatus bs = SLUICE__BROKER_STATUS__INIT;
    bs.pid = (uint32_t)getpid();
    sl_procmem_read(&bs.rss_bytes, &bs.peak_rss_bytes);
    bs.uptime_ms = (uint64_t)(zclock_mono() - l->started_ms);
    if (l->auth) {
        sl_auth_counts_t counts = sl_auth_counts(l->auth);
        bs.curve = true;
        bs.refused_clients = counts.refused_clients;
        bs.refused_workers = counts.refused_workers;
        bs.refused_messages = counts.refused_messages;
        bs.revoked_keys = counts.revoked;
    }
    fill_counts(l, &bs);
    reply.broker = &bs;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_STATUS;
    env.status = &reply;
    send_env(l, l->front, client, &env);
out:
    free(ws);
    free(wptrs);
    free(refs);
    free(rptrs);
    free(rs);
    free(rsptrs);
    free(q.items);
    free(q.ptrs);
}

/* ---- sockets ------------------------------------------------------------- */

/* Whether body may be taken from sock: in the clear, always; with CURVE,
 * only while its key (the "User-Id" our ZAP handler gave the connection)
 * is in the socket's allow-list: a revoked key's queued messages are
 * refused too. Keeps the key in l->peer_key. */
static bool
is_allowed(loop_t *l, zsock_t *sock, zframe_t *body)
{
    l->peer_key[0] = '\0';
    if (!l->auth)
        return true;
    const char *key = zframe_meta(body, "User-Id");
    snprintf(l->peer_key, sizeof l->peer_key, "%s", key ? key : "");
    bool is_client = sock == l->front;
    if (sl_auth_allows(l->auth, is_client ? SL_AUTH_CLIENTS : SL_AUTH_WORKERS,
                       key))
        return true;
    sl_log(SL_LOG_WARN, "broker", "refused a %s message: key %s is not "
           "allowed (revoked?)", is_client ? "client" : "worker",
           key ? key : "(none)");
    return false;
}

/* Receives [identity, payload] from a ROUTER and decodes the payload. NULL
 * (after answering or logging) for anything else. */
static Sluice__Envelope *
receive(loop_t *l, zsock_t *sock, zframe_t **identity)
{
    zmsg_t *msg = zmsg_recv(sock);
    *identity = msg ? zmsg_pop(msg) : NULL;
    zframe_t *body = msg ? zmsg_pop(msg) : NULL;
    const char *side = sock == l->front ? "client" : "worker";
    Sluice__Envelope *env = NULL;
    sl_error_t err = {0};
    if (!*identity || !body || zmsg_size(msg) != 0)
        sl_log(SL_LOG_WARN, "broker", "dropped a malformed %s message (%zu "
               "frames)", side, msg ? zmsg_size(msg) + 2 : 0);
    else if (!is_allowed(l, sock, body))
        ; /* logged and counted */
    else if (!(env = sl_envelope_decode(zframe_data(body), zframe_size(body),
                                        &err))) {
        sl_log(SL_LOG_WARN, "broker", "bad %s message: %s", side, err.msg);
        send_error(l, sock, *identity, err.msg);
    }
    zframe_destroy(&body);
    zmsg_destroy(&msg);
    if (!env)
        zframe_destroy(identity);
    return env;
}

static void
on_front(loop_t *l)
{
    zframe_t *client;
    Sluice__Envelope *env = receive(l, l->front, &client);
    if (!env)
        return;
    switch (env->body_case) {
    case SLUICE__ENVELOPE__BODY_SUBMIT: on_submit(l, client, env->submit); break;
    case SLUICE__ENVELOPE__BODY_STATUS_REQUEST:
        on_status(l, client, env->status_request);
        break;
    case SLUICE__ENVELOPE__BODY_CANCEL: on_cancel(l, client, env->cancel); break;
    case SLUICE__ENVELOPE__BODY_WATCH: on_watch(l, client, env->watch); break;
    default:
        send_error(l, l->front, client, "this message type is not taken on "
                   "the client socket");
    }
    sl_envelope_free(&env);
    zframe_destroy(&client);
}

/* The identical jobs that waited on job get its result, in their own runs. */
static void
serve_followers(loop_t *l, sl_job_t *job, const sl_value_t *value,
                const Sluice__Value *wire, const char *worker_id)
{
    zlistx_t *followers = job->followers;
    job->followers = NULL;
    for (sl_job_t *f = zlistx_first(followers); f; f = zlistx_next(followers)) {
        sl_value_t *copy = sl_value_copy(value);
        if (f->state == SL_JOB_FOLLOWING) {
            sl_runbook_result(l->runbook, f, wire);
            sl_bmetrics_shared(l->metrics, task_of(f));
        }
        sl_run_job_shared(f->run, l->sched, f, &copy, worker_id);
        touch(l, f->run);
    }
    zlistx_destroy(&followers);
}

static void
on_results(loop_t *l, sl_bworker_t *w, const Sluice__ResultBatch *batch)
{
    for (size_t i = 0; i < batch->n_results; i++) {
        const Sluice__Result *r = batch->results[i];
        sl_job_t *job = sl_runbook_job(l->runbook, r->task_id);
        sl_run_t *run = job ? job->run : NULL;
        if (!job || job->worker != w || job->attempt != r->attempt) {
            sl_log(SL_LOG_WARN, "broker", "worker=%s task=%llx attempt=%u "
                   "result dropped: the worker does not hold that task",
                   w->id, (unsigned long long)r->task_id, r->attempt);
            continue;
        }
        sl_value_t *value = NULL;
        sl_error_t err = {0};
        Sluice__Result bad = *r;
        if (r->status == SLUICE__RESULT__STATUS__OK &&
            sl_wire_value_unpack(r->value, &value, &err) < 0) {
            bad.status = SLUICE__RESULT__STATUS__ERROR;
            bad.error = err.msg;
        }
        w->done++;
        w->cache_errors += r->cache == SLUICE__RESULT__CACHE__CACHE_ERROR;
        sl_sched_took(w, r->duration_us);
        if (bad.status == SLUICE__RESULT__STATUS__OK &&
            job->state == SL_JOB_RUNNING)
            sl_runbook_result(l->runbook, job, r->value);
        sl_value_t *shared = job->followers ? sl_value_copy(value) : NULL;
        bool was_running = job->state == SL_JOB_RUNNING;
        sl_run_job_result(run, l->sched, job, &bad, &value, w->id);
        if (was_running)
            sl_bmetrics_result(l->metrics, task_of(job), job, &bad);
        touch(l, run);
        if (job->state == SL_JOB_DONE && job->followers)
            serve_followers(l, job, shared, r->value, w->id);
        sl_value_destroy(&shared);
    }
}

static void
on_ready(loop_t *l, zframe_t *id, sl_bworker_t *w, const Sluice__Ready *r)
{
    if (w && !strcmp(w->incarnation, r->incarnation)) {
        w->is_draining = false; /* the same process, saying hello again */
        return;
    }
    if (w) /* the same id, a new process: the old one died */
        drop_worker(l, w, "restarted", true);
    w = sl_sched_add_worker(l->sched, id, r);
    if (w)
        snprintf(w->key, sizeof w->key, "%s", l->peer_key);
    if (w)
        sl_log(SL_LOG_INFO, "broker", "worker=%s ready, slots=%u tasks=%zu "
               "host=%s", w->id, w->slots, r->n_tasks, w->hostname);
}

/* A worker lists what it holds: a job it was given more than a heartbeat
 * ago and no longer lists never arrived or was lost, and is queued again. */
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
        if (!is_listed && job->dispatched_us < before * 1000)
            zlistx_add_end(lost, job);
    }
    for (sl_job_t *job = lost ? zlistx_first(lost) : NULL; job;
         job = zlistx_next(lost)) {
        sl_log(SL_LOG_WARN, "broker", "worker=%s task=%llx lost, requeued",
               w->id, (unsigned long long)job->id);
        sl_sched_release(l->sched, job);
        sl_run_job_lost(job->run, l->sched, job, "the worker lost it", false);
        sl_bmetrics_lost(l->metrics, task_of(job), job);
        touch(l, job->run);
    }
    zlistx_destroy(&lost);
}

static void
on_back(loop_t *l)
{
    zframe_t *id;
    Sluice__Envelope *env = receive(l, l->back, &id);
    if (!env)
        return;
    sl_bworker_t *w = sl_sched_find_worker(l->sched, id);
    if (w && strcmp(w->key, l->peer_key) != 0) {
        /* a worker id belongs to the key that said READY with it: another
         * key's connection that took it over is not that worker */
        sl_log(SL_LOG_WARN, "broker", "worker=%s refused a message from key "
               "%s: the worker said READY with key %s", w->id, l->peer_key,
               w->key);
        sl_auth_count_refused(l->auth);
        sl_envelope_free(&env);
        zframe_destroy(&id);
        return;
    }
    if (w)
        w->last_seen_ms = zclock_mono();
    switch (env->body_case) {
    case SLUICE__ENVELOPE__BODY_READY:
        on_ready(l, id, w, env->ready);
        break;
    case SLUICE__ENVELOPE__BODY_RESULTS:
    case SLUICE__ENVELOPE__BODY_HEARTBEAT:
        if (!w) {
            char *who = zframe_strdup(id);
            sl_log(SL_LOG_INFO, "broker", "worker=%s unknown: its %s refused, "
                   "asked to send READY", who ? who : "?",
                   sl_envelope_kind(env));
            free(who);
            send_error_code(l, l->back, id, "unknown worker: send READY first",
                            SLUICE__ERROR__CODE__UNKNOWN_PEER);
        }
        else if (env->body_case == SLUICE__ENVELOPE__BODY_RESULTS)
            on_results(l, w, env->results);
        else
            on_heartbeat(l, w, env->heartbeat);
        break;
    case SLUICE__ENVELOPE__BODY_DISCONNECT:
        if (w)
            drop_worker(l, w, env->disconnect->reason, false);
        break;
    default:
        send_error(l, l->back, id, "this message type is not taken on the "
                   "worker socket");
    }
    sl_envelope_free(&env);
    zframe_destroy(&id);
}

/* Cuts every connection of sock by binding it again: libzmq cannot close
 * one peer's connection, and a revoked key's stay open otherwise. Allowed
 * peers reconnect at once (their handshake goes through ZAP again). */
static void
cut_connections(zsock_t *sock, const char *side)
{
    char *endpoint = zsock_last_endpoint(sock);
    int rc = endpoint ? zsock_unbind(sock, "%s", endpoint) : -1;
    /* the I/O thread closes the listener after unbind returns: until it
     * has, the address is in use */
    for (int i = 0; rc == 0 && i < BIND_AGAIN_TRIES; i++) {
        if (zsock_bind(sock, "%s", endpoint) >= 0)
            break;
        zclock_sleep(1);
        rc = i + 1 < BIND_AGAIN_TRIES ? 0 : -1;
    }
    if (rc < 0)
        sl_log(SL_LOG_ERROR, "broker", "cannot bind the %s socket again "
               "(%s): %s", side, endpoint ? endpoint : "?",
               zmq_strerror(zmq_errno()));
    else
        sl_log(SL_LOG_INFO, "broker", "%s connections cut after a revocation; "
               "allowed peers reconnect", side);
    free(endpoint);
}

/* Reads the allow-lists again. A worker whose key was revoked is dropped
 * (its jobs go back to their queues) and the socket of a revoked key is
 * bound again, which cuts its connections. */
static void
reload_keys(loop_t *l)
{
    size_t clients = 0, workers = 0;
    if (!l->auth)
        return;
    sl_auth_reload(l->auth, &clients, &workers);
    zlistx_t *all = sl_sched_workers(l->sched);
    bool is_changed = workers > 0;
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
    if (clients)
        cut_connections(l->front, "client");
    if (workers)
        cut_connections(l->back, "worker");
}

/* Every heartbeat: workers silent for `liveness` intervals are dead (their
 * jobs go back to the queue); the others get a heartbeat. */
static void
on_tick(loop_t *l)
{
    int64_t now = zclock_mono();
    int64_t dead_before = now - (int64_t)l->opt->heartbeat_ms * l->opt->liveness;
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
            bool is_silent = w->last_seen_ms < dead_before;
            if (!is_silent &&
                send_env(l, l->back, w->identity, &env) != SL_EIO)
                continue;
            drop_worker(l, w, is_silent ? "missed its heartbeats"
                                        : "its connection is gone", true);
            is_changed = true;
            break;
        }
    }
    sl_sched_release_due(l->sched, now);
    start_sync(l, true);
    reload_keys(l);
}

/* ---- HTTP: /metrics, /healthz, /readyz --------------------------------- */

static void
read_gauges(loop_t *l, sl_bmetrics_gauges_t *g)
{
    sl_sched_counts_t c;
    sl_sched_counts(l->sched, &c);
    *g = (sl_bmetrics_gauges_t){.queued = c.queued, .delayed = c.delayed,
                                .in_flight = c.held};
    zlistx_t *workers = sl_sched_workers(l->sched);
    for (sl_bworker_t *w = zlistx_first(workers); w;
         w = zlistx_next(workers)) {
        g->workers++;
        g->draining += w->is_draining;
        g->slots += w->slots;
    }
    for (sl_run_t *run = sl_runbook_first(l->runbook); run;
         run = sl_runbook_next(l->runbook)) {
        Sluice__RunStatus rs;
        sl_run_status(run, &rs);
        g->runs_running += rs.state == SLUICE__RUN_RESULT__STATE__RUNNING;
        g->runs_done += rs.state == SLUICE__RUN_RESULT__STATE__DONE;
        g->runs_failed += rs.state == SLUICE__RUN_RESULT__STATE__FAILED;
    }
    if (l->auth) {
        sl_auth_counts_t a = sl_auth_counts(l->auth);
        g->is_curve = true;
        g->refused_clients = a.refused_clients;
        g->refused_workers = a.refused_workers;
        g->refused_messages = a.refused_messages;
        g->revoked_keys = a.revoked;
    }
}

static int
render_metrics(void *ctx, sl_buf_t *out)
{
    loop_t *l = ctx;
    sl_bmetrics_gauges_t g;
    read_gauges(l, &g);
    return sl_bmetrics_render(l->metrics, &g, out);
}

/* Healthy: the loop answers (else the HTTP thread says 503 itself).
 * Ready: it takes new runs (not stopping). */
static void
answer_http(const char *path, sl_http_reply_t *reply, void *ctx)
{
    loop_t *l = ctx;
    sl_http_page(path, reply, render_metrics, l,
                 l->is_stopping ? "stopping: new runs are refused" : NULL);
}

/* Sets up sockets, scheduler and runbook; on failure says what failed in
 * why (for sl_broker_new's error). */
static int
loop_init(loop_t *l, zsock_t *pipe, const sl_broker_options_t *opt,
          char *why, size_t size)
{
    sl_error_t err = {0};
    l->opt = opt;
    l->pipe = pipe;
    l->front = zsock_new(ZMQ_ROUTER);
    l->back = zsock_new(ZMQ_ROUTER);
    l->started_ms = zclock_mono();
    l->sched = sl_sched_new(opt->prefetch);
    l->touched = zlistx_new();
    l->unconfirmed = zlistx_new();
    l->syncer = sl_syncer_new();
    l->metrics = sl_bmetrics_new();
    snprintf(why, size, "out of memory");
    if (!l->front || !l->back || !l->sched || !l->touched || !l->unconfirmed ||
        !l->syncer || !l->metrics)
        return SL_ENOMEM;
    l->runbook = sl_runbook_new(opt->journal, opt->finished_runs, &err);
    if (!l->runbook) {
        snprintf(why, size, "%s", err.msg);
        return SL_EIO;
    }
    sl_envelope_tune(l->front);
    sl_envelope_tune(l->back);
    if (opt->key_file) { /* the ZAP handler is bound before the sockets */
        if (!(l->auth = sl_auth_new(opt->key_file, opt->allow_clients,
                                    opt->allow_workers, &err))) {
            snprintf(why, size, "%s", err.msg);
            return SL_EINVAL;
        }
        sl_auth_serve(l->auth, l->front, SL_AUTH_CLIENTS);
        sl_auth_serve(l->auth, l->back, SL_AUTH_WORKERS);
    } else if (opt->allow_clients || opt->allow_workers) {
        snprintf(why, size, "an allow-list needs the broker's key (--key)");
        return SL_EINVAL;
    }
    zsock_set_router_mandatory(l->front, 1);
    zsock_set_router_mandatory(l->back, 1);
    zsock_set_router_handover(l->back, 1);
    const char *endpoint = opt->frontend;
    if (zsock_bind(l->front, "%s", opt->frontend) < 0 ||
        zsock_bind(l->back, "%s", (endpoint = opt->backend)) < 0) {
        snprintf(why, size, "cannot bind %s: %s", endpoint,
                 zmq_strerror(zmq_errno()));
        return SL_EIO;
    }
    if (opt->http && !(l->http = sl_http_new(opt->http, &err))) {
        snprintf(why, size, "%s", err.msg);
        return SL_EIO;
    }
    if (l->http)
        sl_http_describe(l->http, opt->http, l->http_at, sizeof l->http_at);
    l->poller = zpoller_new(pipe, l->front, l->back,
                            sl_syncer_sock(l->syncer), NULL);
    if (l->poller && l->auth)
        zpoller_add(l->poller, sl_auth_zap(l->auth));
    if (l->poller && l->http)
        zpoller_add(l->poller, sl_http_sock(l->http));
    return l->poller ? 0 : SL_ENOMEM;
}

static void
loop_fini(loop_t *l)
{
    sl_http_destroy(&l->http); /* first: its thread asks this loop */
    zpoller_destroy(&l->poller);
    zsock_destroy(&l->front);
    zsock_destroy(&l->back);
    zlistx_destroy(&l->touched);
    sl_syncer_destroy(&l->syncer);
    zlistx_destroy(&l->unconfirmed);
    sl_sched_destroy(&l->sched); /* before the runs: it points at jobs */
    sl_runbook_destroy(&l->runbook); /* writes and syncs the journal */
    sl_auth_destroy(&l->auth); /* after the sockets it checked */
    sl_bmetrics_destroy(&l->metrics);
}

/* A command from the owner: "STOP" (take no new runs) or "$TERM". False
 * for $TERM. */
static bool
on_pipe(loop_t *l)
{
    char *cmd = zstr_recv(l->pipe);
    bool is_term = !cmd || strcmp(cmd, "$TERM") == 0;
    if (cmd && strcmp(cmd, "STOP") == 0) {
        l->is_stopping = true;
        sl_runbook_sync(l->runbook);
        sl_log(SL_LOG_INFO, "broker", "stopping: new runs are refused, the "
               "journal is synced");
    }
    free(cmd);
    return !is_term;
}

/* Resumes what the journal holds; every resumed run is looked at in the
 * first flush (some may already be complete). */
static void
resume(loop_t *l)
{
    size_t n = sl_runbook_resume(l->runbook, l->sched);
    for (sl_run_t *run = sl_runbook_first(l->runbook); run;
         run = sl_runbook_next(l->runbook))
        touch(l, run);
    if (n)
        sl_log(SL_LOG_INFO, "broker", "%zu runs resumed", n);
}

/* Both sockets in-process (`sluice run --local`): nothing to secure. */
static bool
is_inproc(const sl_broker_options_t *opt)
{
    return !strncmp(opt->frontend, "inproc://", 9) &&
           !strncmp(opt->backend, "inproc://", 9);
}

static void
broker_actor(zsock_t *pipe, void *args)
{
    loop_t l = {0};
    const sl_broker_options_t *opt = args;
    char why[600];
    int rc = loop_init(&l, pipe, opt, why, sizeof why);
    zsock_signal(pipe, 0);
    zstr_sendf(pipe, "%s", rc == 0 ? "ok" : why);
    if (rc == 0) {
        sl_log(SL_LOG_INFO, "broker", "clients=%s workers=%s journal=%s "
               "curve=%s http=%s", opt->frontend, opt->backend,
               opt->journal ? opt->journal : "(none)", l.auth ? "on" : "off",
               l.http ? l.http_at : "off");
        if (!l.auth && !is_inproc(opt))
            sl_log(SL_LOG_WARN, "broker", "no key (--key): clients and "
                   "workers connect in the clear, unauthenticated and "
                   "unencrypted");
        resume(&l);
        flush(&l);
    }
    int64_t next_tick = zclock_mono() + opt->heartbeat_ms;
    while (rc == 0) {
        int64_t now = zclock_mono();
        int64_t due = sl_sched_next_due(l.sched, now);
        int64_t wait = next_tick - now;
        if (due >= 0 && due < wait)
            wait = due;
        int64_t sync_at = sl_syncer_is_busy(l.syncer) ? -1 : sync_due(&l);
        /* at least 1 ms, so that a sync that failed to start cannot spin */
        if (sync_at >= 0 && sync_at - now < wait)
            wait = sync_at > now ? sync_at - now : 1;
        void *which = zpoller_wait(l.poller, wait > 0 ? (int)wait : 0);
        if (which == pipe && !on_pipe(&l))
            break; /* $TERM */
        if (!which && zpoller_terminated(l.poller))
            break;
        if (which == l.front)
            on_front(&l);
        else if (which == l.back)
            on_back(&l);
        else if (l.syncer && which == sl_syncer_sock(l.syncer))
            on_synced(&l);
        else if (l.auth && which == sl_auth_zap(l.auth))
            sl_auth_on_zap(l.auth);
        else if (l.http && which == sl_http_sock(l.http))
            sl_http_answer(l.http, answer_http, &l);
        now = zclock_mono();
        if (now >= next_tick) {
            on_tick(&l);
            next_tick = now + opt->heartbeat_ms;
        }
        sl_sched_release_due(l.sched, now);
        dispatch(&l);
        flush(&l);
        start_sync(&l, false);
    }
    loop_fini(&l);
}

sl_broker_t *
sl_broker_new(const sl_broker_options_t *opt, sl_error_t *err)
{
    sl_broker_t *b = calloc(1, sizeof *b);
    if (!b) {
        sl_error_set(err, SL_ENOMEM, "out of memory");
        return NULL;
    }
    b->opt = *opt;
    if (!b->opt.frontend)
        b->opt.frontend = SL_BROKER_FRONTEND;
    if (!b->opt.backend)
        b->opt.backend = SL_BROKER_BACKEND;
    if (!b->opt.finished_runs)
        b->opt.finished_runs = 100;
    if (!b->opt.heartbeat_ms)
        b->opt.heartbeat_ms = 1000;
    if (!b->opt.liveness)
        b->opt.liveness = 3;
    b->actor = zactor_new(broker_actor, &b->opt);
    char *status = b->actor ? zstr_recv(b->actor) : NULL;
    if (!status || strcmp(status, "ok") != 0) {
        sl_error_set(err, SL_EIO, "broker: %s", status ? status : "no thread");
        sl_broker_destroy(&b);
    }
    free(status);
    return b;
}

void
sl_broker_stop_accepting(sl_broker_t *b)
{
    zstr_send(b->actor, "STOP");
}

void
sl_broker_destroy(sl_broker_t **p)
{
    if (p && *p) {
        zactor_destroy(&(*p)->actor);
        free(*p);
        *p = NULL;
    }
}
