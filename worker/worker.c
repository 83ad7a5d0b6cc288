/* worker/worker.c: the worker thread (a CZMQ actor). Owns the DEALER to the
 * broker, the queue of tasks in hand and the executor actors; only this
 * thread touches them. Never runs task code itself, so it always answers the
 * broker. Results from executors are forwarded as they come, unchanged. */
#include "worker.h"

#include "cache.h"
#include "curve.h"
#include "envelope.h"
#include "executor.h"
#include "http.h"
#include "log.h"
#include "registry.h"
#include "wire.h"
#include "worker_metrics.h"

#include <czmq.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CHUNK 64
/* After the broker refused our key, wait this long before trying again
 * (libzmq gives up on a connection whose handshake failed), doubling up to
 * the most. */
#define REDIAL_MS 5000
#define REDIAL_MAX_MS 60000

struct sl_worker {
    char *id;                  /* routing id and producer name, owned */
    char *endpoint;            /* broker worker socket, owned */
    char *cache_url;           /* --cache, owned, may be NULL */
    char *fallback_url;        /* owned */
    char *key_file;            /* CURVE key pair, owned, may be NULL */
    char *broker_key_file;     /* the broker's public key, owned, or NULL */
    char *http;                /* "[HOST:]PORT" of /metrics..., or NULL */
    sl_sign_key_t *sign_key;   /* signs entries written, owned, or NULL */
    sl_trust_t *trust;         /* keys whose entries are hits, or NULL */
    uint32_t slots;            /* executor count */
    uint32_t heartbeat_ms;     /* heartbeat interval */
    uint32_t liveness;         /* silent heartbeats before greeting again */
    char incarnation[17];      /* random, new for each sl_worker_t */
    sl_registry_t *registry;   /* read-only once the actor runs */
    sl_executor_config_t exec_cfg; /* shared, read-only, by executors */
    zactor_t *actor;           /* the worker thread */
};

typedef struct {
    sl_worker_t *w;            /* configuration, read-only here */
    zsock_t *pipe;             /* to the owner of the sl_worker_t */
    zsock_t *dealer;           /* to the broker */
    sl_curve_watch_t *watch;   /* its handshakes; NULL over inproc:// */
    bool is_curve;             /* the DEALER has keys */
    int64_t redial_at_ms;      /* refused: when to try again; 0 if not */
    uint64_t handshakes;       /* connections made so far (the watch's) */
    int64_t redial_ms;         /* the wait before that, doubling */
    zactor_t **execs;          /* slots executors */
    sl_cancel_board_t *boards; /* per executor: what it computes, and what
                                  to stop (the one state shared with it) */
    bool *is_busy;             /* per executor */
    zlist_t *queue;            /* packed Task frames waiting, owned */
    zpoller_t *poller;         /* pipe, dealer and executors */
    uint64_t *held;            /* ids of the tasks in hand (queued or run) */
    size_t held_count;
    size_t held_cap;
    int64_t last_broker_ms;    /* when the broker last said anything */
    int64_t greeted_ms;        /* when we last greeted a silent broker */
    int64_t next_beat_ms;      /* when the next heartbeat is due */
    bool is_draining;          /* stopping: asked for no more tasks */
    sl_wmetrics_t *metrics;    /* for /metrics */
    sl_http_t *http;           /* /metrics, /healthz, /readyz; or NULL */
    char http_at[300];         /* its address, with the port bound */
} loop_t;

static void
send_ready(loop_t *l)
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

static void
send_disconnect(loop_t *l, const char *reason)
{
    Sluice__Disconnect bye = SLUICE__DISCONNECT__INIT;
    bye.reason = (char *)reason;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_DISCONNECT;
    env.disconnect = &bye;
    sl_envelope_send(l->dealer, NULL, &env, NULL);
}

static void
hold(loop_t *l, uint64_t id)
{
    if (l->held_count == l->held_cap) {
        size_t cap = l->held_cap ? l->held_cap * 2 : 64;
        uint64_t *grown = realloc(l->held, cap * sizeof *grown);
        if (!grown)
            return; /* the broker will requeue it as lost: safe */
        l->held = grown;
        l->held_cap = cap;
    }
    l->held[l->held_count++] = id;
}

static void
unhold(loop_t *l, uint64_t id)
{
    for (size_t i = 0; i < l->held_count; i++)
        if (l->held[i] == id) {
            l->held[i] = l->held[--l->held_count];
            return;
        }
}

static void
send_heartbeat(loop_t *l)
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

static bool
is_idle(const loop_t *l)
{
    for (uint32_t i = 0; i < l->w->slots; i++)
        if (l->is_busy[i])
            return false;
    return zlist_size(l->queue) == 0;
}

/* Hands queued tasks to idle executors, a fair share each. */
static void
dispatch(loop_t *l)
{
    size_t idle = 0;
    for (uint32_t i = 0; i < l->w->slots; i++)
        idle += !l->is_busy[i];
    for (uint32_t i = 0; i < l->w->slots && zlist_size(l->queue) > 0; i++) {
        if (l->is_busy[i])
            continue;
        size_t chunk = (zlist_size(l->queue) + idle - 1) / idle;
        chunk = chunk > MAX_CHUNK ? MAX_CHUNK : chunk;
        zmsg_t *msg = zmsg_new();
        zmsg_addstr(msg, "T");
        for (size_t k = 0; k < chunk; k++) {
            zframe_t *f = zlist_pop(l->queue);
            zmsg_append(msg, &f);
        }
        zmsg_send(&msg, zactor_sock(l->execs[i]));
        l->is_busy[i] = true;
        idle--;
    }
}

static void
take_tasks(loop_t *l, const Sluice__TaskBatch *batch)
{
    for (size_t i = 0; i < batch->n_tasks; i++) {
        size_t size = sluice__task__get_packed_size(batch->tasks[i]);
        zframe_t *f = zframe_new(NULL, size);
        sluice__task__pack(batch->tasks[i], zframe_data(f));
        zlist_append(l->queue, f);
        hold(l, batch->tasks[i]->task_id);
    }
    dispatch(l);
}

/* Answers the queued tasks ids[0..n) (unpacked from their frames) as
 * cancelled, in one results message. */
static void
answer_cancelled(loop_t *l, zframe_t **frames, size_t n)
{
    Sluice__Result *items = calloc(n + 1, sizeof *items);
    Sluice__Result **ptrs = calloc(n + 1, sizeof *ptrs);
    size_t count = 0;
    for (size_t i = 0; items && ptrs && i < n; i++) {
        Sluice__Task *t = (Sluice__Task *)sl_wire_unpack(
            &sluice__task__descriptor, zframe_data(frames[i]),
            zframe_size(frames[i]));
        if (!t)
            continue;
        sluice__result__init(&items[count]);
        items[count].task_id = t->task_id;
        items[count].attempt = t->attempt;
        items[count].status = SLUICE__RESULT__STATUS__ERROR;
        items[count].failure = SLUICE__RESULT__FAILURE__CANCELLED;
        items[count].error = "cancelled before it ran";
        ptrs[count] = &items[count];
        count++;
        sluice__task__free_unpacked(t, NULL);
    }
    Sluice__ResultBatch batch = SLUICE__RESULT_BATCH__INIT;
    batch.results = ptrs;
    batch.n_results = count;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_RESULTS;
    env.results = &batch;
    if (count)
        sl_envelope_send(l->dealer, NULL, &env, NULL);
    free(items);
    free(ptrs);
}

/* The broker cancelled these tasks' runs: those still queued here are
 * answered at once; each busy executor is told (it answers those of its
 * batch not yet computed) and the one computing a named task is asked to
 * stop it (its board). */
static void
cancel_tasks(loop_t *l, const Sluice__CancelTasks *c)
{
    zframe_t **dropped = calloc(zlist_size(l->queue) + 1, sizeof *dropped);
    size_t n = 0;
    for (zframe_t *f = zlist_first(l->queue); f && dropped;) {
        Sluice__Task *t = (Sluice__Task *)sl_wire_unpack(
            &sluice__task__descriptor, zframe_data(f), zframe_size(f));
        bool is_named = false;
        for (size_t i = 0; t && i < c->n_task_ids && !is_named; i++)
            is_named = c->task_ids[i] == t->task_id;
        if (t && is_named)
            unhold(l, t->task_id);
        if (t)
            sluice__task__free_unpacked(t, NULL);
        zframe_t *next = zlist_next(l->queue);
        if (is_named) {
            zlist_remove(l->queue, f);
            dropped[n++] = f;
        }
        f = next;
    }
    answer_cancelled(l, dropped, n);
    for (size_t i = 0; i < n; i++)
        zframe_destroy(&dropped[i]);
    free(dropped);
    for (uint32_t e = 0; e < l->w->slots; e++) {
        if (!l->is_busy[e])
            continue;
        uint64_t running = atomic_load(&l->boards[e].running);
        for (size_t i = 0; i < c->n_task_ids; i++)
            if (running && c->task_ids[i] == running)
                atomic_store(&l->boards[e].cancel_id, running);
        zmsg_t *msg = zmsg_new();
        zmsg_addstr(msg, "C");
        zmsg_addmem(msg, c->task_ids, c->n_task_ids * sizeof(uint64_t));
        zmsg_send(&msg, zactor_sock(l->execs[e]));
    }
    sl_log(SL_LOG_INFO, "worker", "worker=%s %zu tasks cancelled by the "
           "broker, %zu of them not started", l->w->id, c->n_task_ids, n);
}

static void
on_broker(loop_t *l)
{
    zmsg_t *msg = zmsg_recv(l->dealer);
    zframe_t *frame = msg ? zmsg_first(msg) : NULL;
    sl_error_t err = {0};
    Sluice__Envelope *env =
        frame ? sl_envelope_decode(zframe_data(frame), zframe_size(frame), &err)
              : NULL;
    if (msg)
        l->last_broker_ms = zclock_mono();
    if (!env && frame)
        sl_log(SL_LOG_WARN, "worker", "worker=%s dropped a message from the "
               "broker: %s", l->w->id, err.msg);
    else if (env && env->body_case == SLUICE__ENVELOPE__BODY_ERROR &&
             env->error->code == SLUICE__ERROR__CODE__UNKNOWN_PEER) {
        sl_log(SL_LOG_INFO, "worker", "worker=%s the broker does not know us "
               "(restarted?): saying hello again", l->w->id);
        send_ready(l);
    }
    else if (env && env->body_case == SLUICE__ENVELOPE__BODY_TASKS)
        take_tasks(l, env->tasks);
    else if (env && env->body_case == SLUICE__ENVELOPE__BODY_CANCEL_TASKS)
        cancel_tasks(l, env->cancel_tasks);
    else if (env && env->body_case == SLUICE__ENVELOPE__BODY_ERROR)
        sl_log(SL_LOG_WARN, "worker", "worker=%s broker says: %s", l->w->id,
               env->error->reason);
    else if (env)
        sl_log(SL_LOG_DEBUG, "worker", "worker=%s ignored %s", l->w->id,
               sl_envelope_kind(env));
    sl_envelope_free(&env);
    zmsg_destroy(&msg);
}

static void
on_executor(loop_t *l, uint32_t i)
{
    zmsg_t *msg = zmsg_recv(zactor_sock(l->execs[i]));
    if (!msg)
        return;
    char *kind = zmsg_popstr(msg);
    if (kind && kind[0] == 'R') {
        zframe_t *f = zmsg_pop(msg), *ids = zmsg_pop(msg);
        zframe_t *stats = zmsg_pop(msg), *trips = zmsg_pop(msg);
        sl_wmetrics_take(l->metrics, stats, trips);
        zframe_destroy(&stats);
        zframe_destroy(&trips);
        if (f && zframe_send(&f, l->dealer, ZFRAME_DONTWAIT) != 0)
            sl_log(SL_LOG_WARN, "worker", "worker=%s result not sent",
                   l->w->id);
        for (size_t k = 0; ids && k < zframe_size(ids) / sizeof(uint64_t);
             k++) {
            uint64_t id;
            memcpy(&id, zframe_data(ids) + k * sizeof id, sizeof id);
            unhold(l, id);
        }
        zframe_destroy(&f);
        zframe_destroy(&ids);
    }
    if (kind && strchr(kind, 'I')) { /* "I", or "RI": results, then idle */
        l->is_busy[i] = false;
        dispatch(l);
    }
    free(kind);
    zmsg_destroy(&msg);
}

/* A command from the owner: "DRAIN" or "$TERM". False for $TERM. */
static bool
on_pipe(loop_t *l)
{
    char *cmd = zstr_recv(l->pipe);
    bool is_term = !cmd || strcmp(cmd, "$TERM") == 0;
    if (cmd && strcmp(cmd, "DRAIN") == 0 && !l->is_draining) {
        l->is_draining = true;
        sl_log(SL_LOG_INFO, "worker", "worker=%s draining: %zu tasks in hand",
               l->w->id, l->held_count);
        send_heartbeat(l); /* tell the broker now, not in a second */
    }
    free(cmd);
    return !is_term;
}

/* Makes the DEALER to the broker (a CURVE client, watched, when keys are
 * given) and connects it. */
static int
open_dealer(loop_t *l, sl_error_t *err)
{
    sl_worker_t *w = l->w;
    bool is_curve = false;
    if (!(l->dealer = zsock_new(ZMQ_DEALER)))
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    sl_envelope_tune(l->dealer);
    /* no routing id of our own: libzmq makes one per connection, so two
     * workers that share an id never share a routing id (backend.c) */
    bool is_inproc = !strncmp(w->endpoint, "inproc://", 9);
    if (!is_inproc && sl_curve_dial(l->dealer, w->key_file,
                                    w->broker_key_file, &is_curve, err) < 0)
        return SL_EINVAL;
    l->is_curve = is_curve;
    if (!is_inproc && !(l->watch = sl_curve_watch_new(l->dealer, is_curve)))
        return sl_error_set(err, SL_ENOMEM, "cannot watch the CURVE "
                            "handshake");
    if (zsock_connect(l->dealer, "%s", w->endpoint) != 0)
        return sl_error_set(err, SL_EINVAL, "cannot connect to '%s'",
                            w->endpoint);
    zpoller_add(l->poller, l->dealer);
    if (l->watch)
        zpoller_add(l->poller, sl_curve_watch_sock(l->watch));
    return 0;
}

static void
close_dealer(loop_t *l)
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
static void
on_watch(loop_t *l)
{
    char why[300];
    uint64_t handshakes = sl_curve_watch_handshakes(l->watch);
    if (handshakes > l->handshakes && l->handshakes > 0)
        send_ready(l); /* a new connection: the broker sees a new peer */
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

static void
redial(loop_t *l)
{
    sl_error_t err = {0};
    l->redial_at_ms = 0;
    sl_wmetrics_reconnected(l->metrics);
    close_dealer(l);
    l->handshakes = 0; /* a new watch counts from 0 */
    if (open_dealer(l, &err) < 0) {
        sl_log(SL_LOG_ERROR, "worker", "worker=%s %s; trying again in %d s",
               l->w->id, err.msg, REDIAL_MAX_MS / 1000);
        l->redial_at_ms = zclock_mono() + REDIAL_MAX_MS;
        return;
    }
    send_ready(l);
}

/* The broker has said nothing for its liveness (counted from our start). */
static bool
is_broker_silent(const loop_t *l)
{
    int64_t silent_ms = zclock_mono() - l->last_broker_ms;
    return silent_ms > (int64_t)l->w->heartbeat_ms * l->w->liveness;
}

/* Heartbeat time: say what we hold, and greet a silent broker again (it
 * may have restarted and forgotten us; ZeroMQ reconnects on its own). */
static void
on_beat(loop_t *l)
{
    if (l->redial_at_ms && zclock_mono() >= l->redial_at_ms)
        redial(l);
    if (l->redial_at_ms)
        return; /* refused: nobody to talk to until then */
    int64_t now = zclock_mono(), liveness_ms =
        (int64_t)l->w->heartbeat_ms * l->w->liveness;
    /* greet once per liveness while the silence lasts; the silence itself
     * (and so /readyz) lasts until the broker speaks */
    if (is_broker_silent(l) && now - l->greeted_ms > liveness_ms) {
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
            redial(l); /* says hello on the new connection */
        else
            send_ready(l);
        l->greeted_ms = now;
    }
    send_heartbeat(l);
    if (l->is_draining && is_idle(l))
        zstr_send(l->pipe, "DRAINED");
}

/* Connected: not waiting to redial, and the broker spoke within its
 * liveness. */
static bool
is_connected(const loop_t *l)
{
    return !l->redial_at_ms && !is_broker_silent(l);
}

static int
render_metrics(void *ctx, sl_buf_t *out)
{
    loop_t *l = ctx;
    sl_wmetrics_gauges_t g = {.slots = l->w->slots, .held = l->held_count,
                              .is_connected = is_connected(l),
                              .is_draining = l->is_draining};
    for (uint32_t i = 0; i < l->w->slots; i++)
        g.busy += l->is_busy[i];
    return sl_wmetrics_render(l->metrics, &g, out);
}

/* Healthy: the worker thread answers (else the HTTP thread says 503).
 * Ready: connected to the broker and not draining. */
static void
answer_http(const char *path, sl_http_reply_t *reply, void *ctx)
{
    loop_t *l = ctx;
    sl_http_page(path, reply, render_metrics, l,
                 l->is_draining     ? "draining: takes no new tasks"
                 : !is_connected(l) ? "not connected to the broker"
                                    : NULL);
}

static int
loop_init(loop_t *l, zsock_t *pipe, sl_worker_t *w, sl_error_t *err)
{
    l->w = w;
    l->pipe = pipe;
    l->execs = calloc(w->slots, sizeof *l->execs);
    l->is_busy = calloc(w->slots, sizeof *l->is_busy);
    l->boards = calloc(w->slots, sizeof *l->boards);
    l->queue = zlist_new();
    l->poller = zpoller_new(pipe, NULL);
    l->metrics = sl_wmetrics_new();
    if (!l->execs || !l->is_busy || !l->boards || !l->queue || !l->poller ||
        !l->metrics)
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    if (w->http && !(l->http = sl_http_new(w->http, err)))
        return err->code;
    if (l->http) {
        sl_http_describe(l->http, w->http, l->http_at, sizeof l->http_at);
        zpoller_add(l->poller, sl_http_sock(l->http));
    }
    if (open_dealer(l, err) < 0)
        return err->code;
    for (uint32_t i = 0; i < w->slots; i++) {
        l->execs[i] = sl_executor_new(&w->exec_cfg, &l->boards[i]);
        if (!l->execs[i])
            return sl_error_set(err, SL_ENOMEM, "cannot start executors");
        zpoller_add(l->poller, zactor_sock(l->execs[i]));
    }
    return 0;
}

static void
loop_fini(loop_t *l)
{
    sl_http_destroy(&l->http); /* first: its thread asks this loop */
    for (uint32_t i = 0; l->execs && i < l->w->slots; i++)
        zactor_destroy(&l->execs[i]);
    free(l->execs);
    free(l->boards); /* after the executors that read them */
    free(l->is_busy);
    while (l->queue && zlist_size(l->queue)) {
        zframe_t *f = zlist_pop(l->queue);
        zframe_destroy(&f);
    }
    zlist_destroy(&l->queue);
    zpoller_destroy(&l->poller);
    free(l->held);
    sl_curve_watch_destroy(&l->watch);
    zsock_destroy(&l->dealer);
    sl_wmetrics_destroy(&l->metrics);
}

static void
worker_actor(zsock_t *pipe, void *args)
{
    loop_t l = {0};
    sl_error_t err = {0};
    int rc = loop_init(&l, pipe, args, &err);
    zsock_signal(pipe, 0);
    zstr_send(pipe, rc == 0 ? "ok" : err.msg); /* read by sl_worker_new */
    if (rc == 0) {
        char shown[512];
        send_ready(&l);
        sl_log(SL_LOG_INFO, "worker", "worker=%s broker=%s slots=%u tasks=%zu "
               "cache=%s isolate=%s curve=%s http=%s", l.w->id, l.w->endpoint,
               l.w->slots, sl_registry_count(l.w->registry),
               l.w->cache_url ? sl_cache_redact(l.w->cache_url, shown,
                                                sizeof shown)
                              : "(flow's, else embedded)",
               l.w->exec_cfg.is_isolated ? "yes" : "no",
               l.is_curve ? "on" : "off", l.http ? l.http_at : "off");
        if (!l.is_curve && strncmp(l.w->endpoint, "inproc://", 9) != 0)
            sl_log(SL_LOG_WARN, "worker", "worker=%s no key (--key): talking "
                   "to the broker in the clear", l.w->id);
    }
    l.last_broker_ms = l.greeted_ms = zclock_mono();
    l.next_beat_ms = l.last_broker_ms + l.w->heartbeat_ms;
    while (rc == 0) {
        int64_t wait = l.next_beat_ms - zclock_mono();
        void *which = zpoller_wait(l.poller, wait > 0 ? (int)wait : 0);
        if (which == pipe && !on_pipe(&l))
            break; /* $TERM */
        if (!which && zpoller_terminated(l.poller))
            break; /* the context is going away */
        if (which == l.dealer)
            on_broker(&l);
        else if (l.watch && which == sl_curve_watch_sock(l.watch))
            on_watch(&l);
        else if (l.http && which == sl_http_sock(l.http))
            sl_http_answer(l.http, answer_http, &l);
        for (uint32_t i = 0; which && i < l.w->slots; i++)
            if (which == zactor_sock(l.execs[i]))
                on_executor(&l, i);
        if (zclock_mono() >= l.next_beat_ms)
            on_beat(&l);
    }
    if (rc == 0)
        send_disconnect(&l, "worker stopping");
    loop_fini(&l);
}

static char *
make_id(void)
{
    char host[128] = "host", id[200];
    gethostname(host, sizeof host - 1);
    snprintf(id, sizeof id, "%s-%d-%04x", host, (int)getpid(),
             (unsigned)(randof(0x10000)));
    return strdup(id);
}

/* The signing key and the trusted keys, from the options or else
 * $SLUICE_SIGN_KEY and $SLUICE_TRUST. */
static int
load_signing(sl_worker_t *w, const sl_worker_options_t *opt, sl_error_t *err)
{
    const char *key = opt->sign_key_file ? opt->sign_key_file
                                         : getenv("SLUICE_SIGN_KEY");
    const char *trust = opt->trust_dir ? opt->trust_dir
                                       : getenv("SLUICE_TRUST");
    if (key && *key && !(w->sign_key = sl_sign_key_new(key, err)))
        return err->code;
    if (trust && *trust && !(w->trust = sl_trust_load(trust, err)))
        return err->code;
    return 0;
}

static int
configure(sl_worker_t *w, const sl_worker_options_t *opt, sl_error_t *err)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    w->slots = opt->slots ? opt->slots : (uint32_t)(cores > 0 ? cores : 1);
    w->heartbeat_ms = opt->heartbeat_ms ? opt->heartbeat_ms : 1000;
    w->liveness = opt->liveness ? opt->liveness : 3;
    zuuid_t *uuid = zuuid_new();
    snprintf(w->incarnation, sizeof w->incarnation, "%.16s",
             uuid ? zuuid_str(uuid) : "0");
    zuuid_destroy(&uuid);
    if (w->slots > SL_WORKER_SLOTS_MAX)
        return sl_error_set(err, SL_EINVAL, "--slots %u: at most %u",
                            w->slots, SL_WORKER_SLOTS_MAX);
    w->id = opt->id ? strdup(opt->id) : make_id();
    w->endpoint = strdup(opt->endpoint ? opt->endpoint : "tcp://127.0.0.1:5556");
    w->cache_url = opt->cache_url ? strdup(opt->cache_url) : NULL;
    w->key_file = opt->key_file ? strdup(opt->key_file) : NULL;
    w->broker_key_file = opt->broker_key_file ? strdup(opt->broker_key_file)
                                              : NULL;
    w->http = opt->http ? strdup(opt->http) : NULL;
    w->fallback_url = opt->fallback_url ? strdup(opt->fallback_url)
                                        : sl_cache_default_url();
    w->registry = sl_registry_new();
    if (!w->id || !w->endpoint || !w->fallback_url || !w->registry)
        return sl_error_set(err, SL_ENOMEM, "out of memory (or no $HOME for "
                            "the default cache)");
    if (strlen(w->id) > 255 || !*w->id)
        return sl_error_set(err, SL_EINVAL, "worker id must have 1 to 255 "
                            "bytes");
    int rc = sl_builtins_register(w->registry, err);
    for (size_t i = 0; rc == 0 && i < opt->plugin_count; i++)
        rc = sl_registry_load_plugin(w->registry, opt->plugins[i], err);
    if (rc == 0)
        rc = load_signing(w, opt, err);
    w->exec_cfg = (sl_executor_config_t){
        .registry = w->registry, .worker_id = w->id,
        .cache_url = w->cache_url, .fallback_url = w->fallback_url,
        .is_isolated = opt->is_isolated,
        .limits = {opt->task_memory_bytes, opt->task_cpu_seconds},
        .sign_key = w->sign_key, .trust = w->trust};
    return rc;
}

sl_worker_t *
sl_worker_new(const sl_worker_options_t *opt, sl_error_t *err)
{
    sl_worker_t *w = calloc(1, sizeof *w);
    if (!w) {
        sl_error_set(err, SL_ENOMEM, "out of memory");
        return NULL;
    }
    if (configure(w, opt, err) < 0) {
        sl_worker_destroy(&w);
        return NULL;
    }
    w->actor = zactor_new(worker_actor, w);
    char *status = w->actor ? zstr_recv(w->actor) : NULL;
    if (!status || strcmp(status, "ok") != 0) {
        sl_error_set(err, SL_EINVAL, "worker: %s",
                     status ? status : "no thread");
        sl_worker_destroy(&w);
    }
    free(status);
    return w;
}

int
sl_worker_drain(sl_worker_t *w, int grace_ms)
{
    zstr_send(w->actor, "DRAIN");
    zpoller_t *poller = zpoller_new(w->actor, NULL);
    int64_t deadline = zclock_mono() + grace_ms;
    int rc = SL_ETIMEDOUT;
    while (poller && rc != 0) {
        int64_t left = deadline - zclock_mono();
        if (left <= 0 || !zpoller_wait(poller, (int)left))
            break;
        char *msg = zstr_recv(w->actor);
        rc = msg && strcmp(msg, "DRAINED") == 0 ? 0 : rc;
        free(msg);
    }
    zpoller_destroy(&poller);
    return rc;
}

void
sl_worker_destroy(sl_worker_t **p)
{
    if (!p || !*p)
        return;
    sl_worker_t *w = *p;
    zactor_destroy(&w->actor);
    sl_registry_destroy(&w->registry);
    free(w->id);
    free(w->endpoint);
    free(w->cache_url);
    free(w->fallback_url);
    free(w->key_file);
    free(w->broker_key_file);
    free(w->http);
    sl_sign_key_destroy(&w->sign_key);
    sl_trust_destroy(&w->trust);
    free(w);
    *p = NULL;
}

bool
sl_worker_serves(const sl_worker_t *w, const char *name, uint32_t version)
{
    return sl_registry_find(w->registry, name, version) != NULL;
}

const char *
sl_worker_id(const sl_worker_t *w)
{
    return w->id;
}
