/* worker/link.c: a worker's connection to the broker: the DEALER (with
 * CURVE keys and a watch on its handshakes), hellos on every new
 * connection, heartbeats, greeting a silent broker, dialling again after a
 * refusal. Runs on the worker thread. */
#include "worker_loop.h"

#include "envelope.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* After the broker refused our key, wait this long before trying again
 * (libzmq gives up on a connection whose handshake failed), doubling up to
 * the most. */
#define REDIAL_MS     5000
#define REDIAL_MAX_MS 60000

void
sl_link_send_ready(loop_t *l)
{
    sl_worker_t *w = l->w;
    size_t n = sl_registry_count(w->registry);
    Sluice__TaskRef *refs = calloc(n + 1, sizeof *refs);
    Sluice__TaskRef **ptrs = calloc(n + 1, sizeof *ptrs);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    for (size_t i = 0; refs && ptrs && i < n; i++) {
        const sl_task_def_t *d = sl_registry_at(w->registry, i);
        sluice__task_ref__init(&refs[i]);
        refs[i].name = (char *)d->name;
        refs[i].version = d->version;
        ptrs[i] = &refs[i];
    }
    Sluice__Ready ready = SLUICE__READY__INIT;
    ready.worker_id = w->id;
    ready.tasks = ptrs;
    ready.n_tasks = refs && ptrs ? n : 0;
    ready.slots = w->slots;
    ready.hostname = host;
    ready.pid = (uint32_t)getpid();
    ready.incarnation = w->incarnation;
    ready.exec_rules = w->exec_rules;
    ready.n_exec_rules = w->programs.rule_count;
    ready.exec_path = (char *)w->programs.path;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_READY;
    env.ready = &ready;
    sl_error_t err = {0};
    if (sl_envelope_send(l->dealer, NULL, &env, &err) < 0)
        sl_log(SL_LOG_WARN, "worker", "worker=%s ready not sent: %s", w->id,
               err.msg);
    free(refs);
    free(ptrs);
}

void
sl_link_send_disconnect(loop_t *l, const char *reason)
{
    Sluice__Disconnect bye = SLUICE__DISCONNECT__INIT;
    bye.reason = (char *)reason;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_DISCONNECT;
    env.disconnect = &bye;
    sl_envelope_send(l->dealer, NULL, &env, NULL);
}

void
sl_link_send_heartbeat(loop_t *l)
{
    Sluice__Heartbeat hb = SLUICE__HEARTBEAT__INIT;
    hb.held_task_ids = l->held;
    hb.n_held_task_ids = l->held_count;
    hb.draining = l->is_draining;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    sl_envelope_send(l->dealer, NULL, &env, NULL);
    l->next_beat_ms = zclock_mono() + l->w->heartbeat_ms;
}

/* Makes the DEALER to the broker (a CURVE client, watched, when keys are
 * given) and connects it. */
int
sl_link_open(loop_t *l, sl_error_t *err)
{
    sl_worker_t *w = l->w;
    bool is_curve = false;
    if (!(l->dealer = zsock_new(ZMQ_DEALER)))
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    sl_envelope_tune(l->dealer);
    /* no routing id of our own: libzmq makes one per connection, so two
     * workers that share an id never share a routing id (backend.c) */
    bool is_inproc = !strncmp(w->endpoint, "inproc://", 9);
    if (!is_inproc && sl_curve_dial(l->dealer, w->key_file, w->broker_key_file,
                                    &is_curve, err) < 0)
        return SL_EINVAL;
    l->is_curve = is_curve;
    if (!is_inproc && !(l->watch = sl_curve_watch_new(l->dealer, is_curve)))
        return sl_error_set(err, SL_ENOMEM, "cannot watch the CURVE handshake");
    if (zsock_connect(l->dealer, "%s", w->endpoint) != 0)
        return sl_error_set(err, SL_EINVAL, "cannot connect to '%s'",
                            w->endpoint);
    zpoller_add(l->poller, l->dealer);
    if (l->watch)
        zpoller_add(l->poller, sl_curve_watch_sock(l->watch));
    return 0;
}

void
sl_link_close(loop_t *l)
{
    if (l->watch)
        zpoller_remove(l->poller, sl_curve_watch_sock(l->watch));
    sl_curve_watch_destroy(&l->watch); /* before the socket it watches */
    if (l->dealer)
        zpoller_remove(l->poller, l->dealer);
    zsock_destroy(&l->dealer);
}

/* News from the CURVE watch: a refused key is logged, and the connection
 * made again later (libzmq does not retry it; the key may be allowed by
 * then). */
void
sl_link_on_watch(loop_t *l)
{
    char why[300];
    uint64_t handshakes = sl_curve_watch_handshakes(l->watch);
    if (handshakes > l->handshakes && l->handshakes > 0)
        sl_link_send_ready(
            l); /* a new connection: the broker sees a new peer */
    l->handshakes = handshakes;
    if (!sl_curve_watch_refused(l->watch, why, sizeof why)) {
        l->redial_ms = 0; /* a handshake went through */
        return;
    }
    if (l->redial_at_ms)
        return;
    l->redial_ms = l->redial_ms ? l->redial_ms * 2 : REDIAL_MS;
    if (l->redial_ms > REDIAL_MAX_MS)
        l->redial_ms = REDIAL_MAX_MS;
    sl_log(SL_LOG_ERROR, "worker", "worker=%s %s; trying again in %lld s",
           l->w->id, why, (long long)l->redial_ms / 1000);
    l->redial_at_ms = zclock_mono() + l->redial_ms;
}

void
sl_link_redial(loop_t *l)
{
    sl_error_t err = {0};
    l->redial_at_ms = 0;
    sl_wmetrics_reconnected(l->metrics);
    sl_link_close(l);
    l->handshakes = 0; /* a new watch counts from 0 */
    if (sl_link_open(l, &err) < 0) {
        sl_log(SL_LOG_ERROR, "worker", "worker=%s %s; trying again in %d s",
               l->w->id, err.msg, REDIAL_MAX_MS / 1000);
        l->redial_at_ms = zclock_mono() + REDIAL_MAX_MS;
        return;
    }
    sl_link_send_ready(l);
}

/* The broker has said nothing for its liveness (counted from our start). */
bool
sl_link_is_silent(const loop_t *l)
{
    int64_t silent_ms = zclock_mono() - l->last_broker_ms;
    return silent_ms > (int64_t)l->w->heartbeat_ms * l->w->liveness;
}

/* Heartbeat time: say what we hold, and greet a silent broker again (it
 * may have restarted and forgotten us; ZeroMQ reconnects on its own). */
void
sl_link_on_beat(loop_t *l)
{
    if (l->redial_at_ms && zclock_mono() >= l->redial_at_ms)
        sl_link_redial(l);
    if (l->is_draining && sl_hand_is_idle(l) && l->redial_at_ms)
        zstr_send(l->pipe, "DRAINED"); /* refused: nothing to finish */
    if (l->redial_at_ms)
        return; /* refused: nobody to talk to until then */
    int64_t now = zclock_mono(),
            liveness_ms = (int64_t)l->w->heartbeat_ms * l->w->liveness;
    /* greet once per liveness while the silence lasts; the silence itself
     * (and so /readyz) lasts until the broker speaks */
    if (sl_link_is_silent(l) && now - l->greeted_ms > liveness_ms) {
        int64_t silent_ms = now - l->last_broker_ms;
        /* up but silent: the broker handed our routing id to another
         * connection (a second worker with our id) and ours leads nowhere;
         * only a new connection gets it back */
        bool is_up = sl_curve_watch_is_up(l->watch);
        sl_log(SL_LOG_WARN, "worker", "worker=%s broker silent for %lld ms%s",
               l->w->id, (long long)silent_ms,
               is_up ? " on a live connection (another connection has our "
                       "id?): connecting again"
                     : ": saying hello again");
        if (is_up)
            sl_link_redial(l); /* says hello on the new connection */
        else
            sl_link_send_ready(l);
        l->greeted_ms = now;
    }
    sl_link_send_heartbeat(l);
    if (l->is_draining && sl_hand_is_idle(l))
        zstr_send(l->pipe, "DRAINED");
}

/* Connected: not waiting to redial, and the broker spoke within its
 * liveness. */
bool
sl_link_is_connected(const loop_t *l)
{
    return !l->redial_at_ms && !sl_link_is_silent(l);
}
