/* broker/frontend.c: the client socket: submits, watches, cancels, status
 * requests, and the news each run owes the clients that follow it
 * (Accepted once its journal record is on disk, its events, its result).
 * Runs on the broker loop thread. A client that went away is dropped from
 * the runs it followed; nothing it sent is trusted before it is decoded
 * and checked (broker.c, runbook.c). */
#include "loop.h"

#include "log.h"
#include "program.h"
#include "run_wire.h"
#include "submission_wire.h"
#include "trace.h"

#include <stdlib.h>
#include <string.h>

/* A submitted run waits this long before a journal sync is started for it:
 * a run that finishes sooner is accepted with its result and needs none
 * (on a 2-core VM each fdatasync costs ~260 us, and the CPU it takes from
 * the other threads cost one-task runs 130 us of latency). */
#define SYNC_DELAY_MS 2

/* Sends env to every follower of run; one that is gone stops following. */
static void
send_followers(loop_t *l, sl_run_t *run, Sluice__Envelope *env)
{
    for (size_t i = 0; i < sl_run_follower_count(run);) {
        zframe_t *to = sl_run_follower(run, i);
        if (sl_loop_send(l, l->front, to, env) == SL_EIO) {
            sl_run_unfollow(run, to); /* the list shifted: same i */
            continue;
        }
        i++;
    }
}

/* Sends a kept packed envelope (a finished run's result) to one client;
 * SL_EIO if it is gone. */
static int
send_packed(zsock_t *sock, zframe_t *to, zframe_t *packed)
{
    sl_error_t err = {0};
    int rc = sl_envelope_send_packed(sock, to, packed, &err);
    SL_TRACE("broker.send.result");
    if (rc < 0)
        sl_log(SL_LOG_DEBUG, "broker", "run result not delivered: %s", err.msg);
    return rc;
}

static void
send_accepted_to(loop_t *l, sl_run_t *run, zframe_t *to)
{
    Sluice__Accepted acc = SLUICE__ACCEPTED__INIT;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    acc.run_id = (char *)sl_run_id(run);
    acc.nodes = (uint32_t)sl_run_flow(run)->node_count;
    env.body_case = SLUICE__ENVELOPE__BODY_ACCEPTED;
    env.accepted = &acc;
    if (to)
        sl_loop_send(l, l->front, to, &env);
    else
        send_followers(l, run, &env);
}

static void
send_accepted(loop_t *l, sl_run_t *run)
{
    send_accepted_to(l, run, NULL);
    sl_log(SL_LOG_INFO, "broker", "run=%s flow=\"%s\" accepted, %zu nodes",
           sl_run_id(run), sl_run_flow(run)->name,
           sl_run_flow(run)->node_count);
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
    sl_loop_send(l, l->front, client, &env);
}

/* ---- results ------------------------------------------------------------ */

/* A result over the message cap keeps its states, counts and errors; the
 * values stay in the cache. */
static void
drop_values(Sluice__RunResult *result)
{
    for (size_t i = 0; i < result->n_nodes; i++) {
        Sluice__NodeResult *n = result->nodes[i];
        if (!n->value)
            continue;
        free(n->value); /* a view: see sl_run_wire_result_free */
        n->value = NULL;
        if (!*n->error)
            n->error = "the results of this run are over the message cap; each "
                       "task's result is in the cache";
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

/* A run that finished before its journal sync is accepted at once: its
 * followers are about to hold the result, so a restart owes it nothing.
 * The sync in flight, if it covers the run, now covers one run fewer. */
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
    send_accepted_to(l, run, NULL); /* logged once, with its result */
}

static void
send_events(loop_t *l, sl_run_t *run)
{
    const sl_run_event_t *events;
    if (sl_run_events(run, &events) == 0)
        return;
    Sluice__EventBatch batch;
    if (sl_run_follower_count(run) > 0 &&
        sl_run_wire_events(run, &batch) == 0) {
        Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
        env.body_case = SLUICE__ENVELOPE__BODY_EVENTS;
        env.events = &batch;
        send_followers(l, run, &env);
        sl_run_wire_events_free(&batch);
    }
    sl_run_events_sent(run); /* nobody follows it: dropped */
}

/* The run finished: its result is packed once, journalled, kept for later
 * watchers and sent to every follower. */
static void
send_result(loop_t *l, sl_run_t *run)
{
    Sluice__RunResult *result = sl_run_wire_result(run);
    ProtobufCBinaryData packed =
        result ? pack_result(result) : (ProtobufCBinaryData){0};
    zframe_t *kept = packed.data ? sl_runbook_finished(l->runbook, run,
                                                       packed.data, packed.len)
                                 : NULL;
    for (size_t i = 0; kept && i < sl_run_follower_count(run);) {
        zframe_t *to = sl_run_follower(run, i);
        if (send_packed(l->front, to, kept) == SL_EIO) {
            sl_run_unfollow(run, to);
            continue;
        }
        i++;
    }
    l->is_trim_due = true;
    sl_run_state_t state = sl_run_state(run);
    sl_bmetrics_run_finished(l->metrics, sl_run_state_name(state),
                             sl_run_started_us(run));
    sl_log(SL_LOG_INFO, "broker", "run=%s flow=\"%s\" %s%s", sl_run_id(run),
           sl_run_flow(run)->name, sl_run_state_name(state),
           kept ? "" : " (out of memory: its result was not kept)");
    free(packed.data);
    sl_run_wire_result_free(&result);
}

void
sl_frontend_flush(loop_t *l)
{
    for (sl_run_t *run = zlistx_first(l->touched); run;
         run = zlistx_next(l->touched)) {
        sl_run_settle(run, l->sched); /* a broken run ends, never hangs */
        if (sl_run_is_unconfirmed(run) && !sl_run_is_finished(run))
            continue; /* its news waits for its Accepted */
        if (sl_run_is_unconfirmed(run))
            accept_finished(l, run);
        send_events(l, run);
        if (sl_run_take_finish(run))
            send_result(l, run);
    }
    zlistx_purge(l->touched);
    sl_runbook_write(l->runbook);
}

/* ---- journal syncs ------------------------------------------------------ */

int64_t
sl_frontend_sync_due(loop_t *l)
{
    sl_run_t *oldest = zlistx_first(l->unconfirmed);
    return oldest ? sl_run_unconfirmed_since(oldest) + SYNC_DELAY_MS : -1;
}

void
sl_frontend_start_sync(loop_t *l, bool is_tick)
{
    int64_t due = sl_frontend_sync_due(l);
    if (sl_runbook_journal_fd(l->runbook) < 0 || sl_syncer_is_busy(l->syncer))
        return;
    if (!is_tick && (due < 0 || zclock_mono() < due))
        return;
    sl_runbook_write(l->runbook);
    if (sl_syncer_start(l->syncer, sl_runbook_journal_fd(l->runbook)) == 0)
        l->syncing = zlistx_size(l->unconfirmed);
}

void
sl_frontend_on_synced(loop_t *l)
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
            for (size_t i = 0; i < sl_run_follower_count(run); i++)
                send_rejected(l, sl_run_follower(run, i), why);
            sl_run_unfollow(run, NULL);
            zlistx_t *held = zlistx_new();
            sl_run_cancel(run, l->sched, why, held);
            if (held)
                sl_backend_cancel_held(l, held);
            zlistx_destroy(&held);
        }
        sl_loop_touch(l, run);
    }
}

/* ---- client messages ---------------------------------------------------- */

/* A run is started at once, but Accepted waits until the journal holding
 * it is on disk (a sync on the syncer's thread, shared by every run
 * submitted meanwhile) or the run has finished, whichever comes first: the
 * client is told only what a restart keeps, or the whole answer. */
/* The run s asks for, registered and journalled; NULL, with err, if it is
 * refused. */
static sl_run_t *
admit(loop_t *l, zframe_t *client, const Sluice__Submit *s, sl_error_t *err)
{
    if (l->is_stopping) {
        sl_error_set(err, SL_EREJECTED, "the broker is stopping");
        return NULL;
    }
    sl_submission_t sub = {0};
    if (sl_submission_from_wire(s, &sub, err) != 0)
        return NULL;
    sl_buf_t packed = {0};
    sl_run_t *run = NULL;
    bool is_journalled = sl_runbook_journal_fd(l->runbook) >= 0;
    int rc = is_journalled ? sl_submission_pack(s, &packed) : 0;
    if (rc == SL_ETOOBIG)
        sl_error_set(err, rc, "submit too big to journal (over %u bytes)",
                     SL_MSG_MAX_BYTES);
    else if (rc != 0)
        sl_error_set(err, rc, "broker out of memory");
    else
        run = sl_runbook_submit(l->runbook, &sub, packed.data, packed.size,
                                client, err);
    sl_submission_fini(&sub);
    sl_buf_fini(&packed);
    return run;
}

/* With --allow-programs, a flow that runs a program comes only from a key
 * in that folder. NULL if s may go on, else the node that may not. */
static const char *
refused_program(loop_t *l, const Sluice__Submit *s)
{
    if (sl_auth_may_run_programs(l->auth, l->peer_key) || !s->flow)
        return NULL;
    for (size_t i = 0; i < s->flow->n_nodes; i++)
        if (s->flow->nodes[i]->task &&
            !strcmp(s->flow->nodes[i]->task, SL_PROGRAM_TASK))
            return s->flow->nodes[i]->name;
    return NULL;
}

static void
on_submit(loop_t *l, zframe_t *client, const Sluice__Submit *s)
{
    sl_error_t err = {0};
    const char *node = refused_program(l, s);
    if (node) {
        char why[600];
        snprintf(why, sizeof why,
                 "node '%.128s' runs a program, and this client's key (%s) "
                 "is not one the broker lets submit programs "
                 "(--allow-programs)",
                 node, l->peer_key);
        sl_bmetrics_submitted(l->metrics, false);
        return send_rejected(l, client, why);
    }
    sl_run_t *run = admit(l, client, s, &err);
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
    sl_loop_touch(l, run);
}

/* A client follows a run from now on, beside any other: Accepted, then
 * every event from now on, and the result; at once the result if the run
 * has finished. */
static void
on_watch(loop_t *l, zframe_t *client, const Sluice__Watch *w)
{
    sl_run_t *run = sl_runbook_find(l->runbook, w->run_id);
    zframe_t *result = sl_runbook_result_of(l->runbook, w->run_id);
    if (!run && !result)
        return sl_loop_send_error(l, l->front, client, "watch: no such run",
                                  SLUICE__ERROR__CODE__GENERIC);
    if (run && !result && sl_run_is_reported(run))
        return sl_loop_send_error(l, l->front, client,
                                  "watch: the run has finished, but the broker "
                                  "ran out of memory keeping its result",
                                  SLUICE__ERROR__CODE__GENERIC);
    if (run && !result) { /* running, or its result not out yet */
        int rc = sl_run_follow(run, client);
        if (rc < 0)
            return sl_loop_send_error(l, l->front, client,
                                      rc == SL_ETOOBIG ? "watch: this run has "
                                                         "as many watchers as "
                                                         "it may have"
                                                       : "watch: broker out of "
                                                         "memory",
                                      SLUICE__ERROR__CODE__GENERIC);
        if (!sl_run_is_unconfirmed(run)) /* else all hear it once synced */
            send_accepted_to(l, run, client);
        sl_log(SL_LOG_DEBUG, "broker", "run=%s followed by %zu clients",
               sl_run_id(run), sl_run_follower_count(run));
        return;
    }
    Sluice__Accepted acc = SLUICE__ACCEPTED__INIT;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    acc.run_id = w->run_id;
    env.body_case = SLUICE__ENVELOPE__BODY_ACCEPTED;
    env.accepted = &acc;
    sl_loop_send(l, l->front, client, &env);
    send_packed(l->front, client, result);
}

/* Ends a run as cancelled: its queued tasks are dropped, the workers that
 * hold its running ones are told to stop them; the canceller gets the
 * run's status back, its followers the result (state cancelled). */
static void
on_cancel(loop_t *l, zframe_t *client, const Sluice__Cancel *c)
{
    sl_run_t *run = sl_runbook_find(l->runbook, c->run_id);
    if (!run)
        return sl_loop_send_error(l, l->front, client, "cancel: no such run",
                                  SLUICE__ERROR__CODE__GENERIC);
    if (!sl_run_is_finished(run)) {
        zlistx_t *held = zlistx_new();
        sl_run_cancel(run, l->sched, "cancelled", held);
        size_t told = held ? zlistx_size(held) : 0; /* the call empties it */
        if (held)
            sl_backend_cancel_held(l, held);
        sl_log(SL_LOG_INFO, "broker",
               "run=%s cancelled, %zu running tasks told to stop",
               sl_run_id(run), told);
        zlistx_destroy(&held);
        sl_loop_touch(l, run);
    }
    Sluice__RunStatus rs, *ptr = &rs;
    sl_run_wire_status(run, &rs);
    Sluice__StatusReply reply = SLUICE__STATUS_REPLY__INIT;
    reply.runs = &ptr;
    reply.n_runs = 1;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_STATUS;
    env.status = &reply;
    sl_loop_send(l, l->front, client, &env);
}

/* What the last failed attempt of a task wrote, while its run is kept. */
static void
on_logs(loop_t *l, zframe_t *client, const Sluice__LogsRequest *q)
{
    char why[400];
    sl_run_t *run = sl_runbook_find(l->runbook, q->run_id);
    ptrdiff_t node = run ? sl_flow_index(sl_run_flow(run), q->node) : -1;
    const sl_run_logs_t *logs =
        node >= 0 ? sl_run_logs(run, (uint32_t)node, q->index) : NULL;
    if (!logs) {
        snprintf(why, sizeof why, "logs: %s",
                 !run       ? "no such run (a finished run is kept while "
                              "--keep-runs allows)"
                 : node < 0 ? "the run has no such node"
                            : "no failed attempt of that task left output "
                              "(only program tasks do)");
        return sl_loop_send_error(l, l->front, client, why,
                                  SLUICE__ERROR__CODE__NOT_FOUND);
    }
    Sluice__Logs m = SLUICE__LOGS__INIT;
    m.run_id = (char *)sl_run_id(run);
    m.node = q->node;
    m.index = q->index;
    m.attempt = logs->attempt;
    m.error = logs->error;
    m.worker_id = logs->worker_id;
    m.stdout_tail =
        (ProtobufCBinaryData){logs->out.size, (uint8_t *)logs->out.data};
    m.stderr_tail =
        (ProtobufCBinaryData){logs->err.size, (uint8_t *)logs->err.data};
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_LOGS;
    env.logs = &m;
    sl_loop_send(l, l->front, client, &env);
}

void
sl_frontend_on_message(loop_t *l)
{
    zframe_t *client;
    Sluice__Envelope *env = sl_loop_receive(l, l->front, &client);
    if (!env)
        return;
    switch (env->body_case) {
    case SLUICE__ENVELOPE__BODY_SUBMIT:
        on_submit(l, client, env->submit);
        break;
    case SLUICE__ENVELOPE__BODY_STATUS_REQUEST:
        sl_status_reply(l, client, env->status_request);
        break;
    case SLUICE__ENVELOPE__BODY_CANCEL:
        on_cancel(l, client, env->cancel);
        break;
    case SLUICE__ENVELOPE__BODY_WATCH: on_watch(l, client, env->watch); break;
    case SLUICE__ENVELOPE__BODY_LOGS_REQUEST:
        on_logs(l, client, env->logs_request);
        break;
    default:
        sl_loop_send_error(l, l->front, client,
                           "this message type is not taken on the client "
                           "socket",
                           SLUICE__ERROR__CODE__GENERIC);
    }
    sl_envelope_free(&env);
    zframe_destroy(&client);
}
