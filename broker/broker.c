/* broker/broker.c: the broker loop (a CZMQ actor): one thread, no locks,
 * like Redis. Owns both ROUTER sockets, their timers and the objects the
 * other loop files work on (loop.h): backend.c takes the workers' messages,
 * frontend.c the clients', status.c answers questions. Every frame from
 * the network is decoded and checked here before any other part sees it;
 * a bad one is answered or dropped, counted, and logged a few times per
 * heartbeat at most, never trusted. */
#include "broker.h"

#include "loop.h"

#include "log.h"
#include "procmem.h"
#include "trace.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Binding a socket again after a revocation: tries, 1 ms apart. */
#define BIND_AGAIN_TRIES 1000
/* The client socket takes frames up to this size, so that one over the
 * message cap (SL_MSG_MAX_BYTES) is answered with the reason; libzmq cuts
 * a connection that sends a larger one. */
#define CLIENT_FRAME_MAX_BYTES ((int64_t)SL_MSG_MAX_BYTES * 4)
/* Messages queued for one client at most (events are batched per run and
 * loop step): past it, events to a client too slow to read them are
 * dropped, not held in memory; a result that cannot be queued is fetched
 * again by the client's Watch after 3 s of silence. */
#define CLIENT_QUEUE_MAX 10000

struct sl_broker {
    sl_broker_options_t opt; /* strings owned: copies of the caller's */
    zactor_t *actor;         /* the broker thread */
};

/* ---- sockets ------------------------------------------------------------- */

void
sl_loop_touch(loop_t *l, sl_run_t *run)
{
    if (!zlistx_find(l->touched, run))
        zlistx_add_end(l->touched, run);
}

int
sl_loop_send(loop_t *l, zsock_t *sock, zframe_t *to, Sluice__Envelope *env)
{
    sl_error_t err = {0};
    int rc = sl_envelope_send(sock, to, env, &err);
    SL_TRACE(sock == l->front ? "broker.send.client" : "broker.send.worker");
    if (rc < 0)
        sl_log(SL_LOG_DEBUG, "broker", "%s not delivered: %s",
               sl_envelope_kind(env), err.msg);
    (void)l;
    return rc;
}

void
sl_loop_send_error(loop_t *l, zsock_t *sock, zframe_t *to, const char *reason,
                   Sluice__Error__Code code)
{
    Sluice__Error e = SLUICE__ERROR__INIT;
    e.reason = (char *)reason;
    e.code = code;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_ERROR;
    env.error = &e;
    sl_loop_send(l, sock, to, &env);
}

void
sl_loop_bad(loop_t *l, const char *fmt, ...)
{
    l->bad_total++;
    if (l->bad_logged >= SL_BAD_LOGS_PER_BEAT)
        return;
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    l->bad_logged++;
    sl_log(SL_LOG_WARN, "broker", "%s%s", msg,
           l->bad_logged == SL_BAD_LOGS_PER_BEAT ? " (more bad messages this "
                                                   "second are only counted: "
                                                   "sluice_bad_messages_total)"
                                                 : "");
}

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
    sl_loop_bad(l, "refused a %s message: key %s is not allowed (revoked?)",
                is_client ? "client" : "worker", key ? key : "(none)");
    return false;
}

Sluice__Envelope *
sl_loop_receive(loop_t *l, zsock_t *sock, zframe_t **identity)
{
    zmsg_t *msg = zmsg_recv(sock);
    SL_TRACE(sock == l->front ? "broker.recv.client" : "broker.recv.worker");
    *identity = msg ? zmsg_pop(msg) : NULL;
    zframe_t *body = msg ? zmsg_pop(msg) : NULL;
    const char *side = sock == l->front ? "client" : "worker";
    Sluice__Envelope *env = NULL;
    sl_error_t err = {0};
    if (!*identity || !body || zmsg_size(msg) != 0) {
        sl_loop_bad(l, "dropped a malformed %s message (%zu frames)", side,
                    msg ? zmsg_size(msg) + 2 : 0);
    } else if (!is_allowed(l, sock, body)) {
        /* logged and counted */
    } else if (!(env = sl_envelope_decode(zframe_data(body), zframe_size(body),
                                          &err))) {
        sl_loop_bad(l, "bad %s message: %s", side, err.msg);
        sl_loop_send_error(l, sock, *identity, err.msg,
                           SLUICE__ERROR__CODE__GENERIC);
    }
    zframe_destroy(&body);
    zmsg_destroy(&msg);
    if (!env)
        zframe_destroy(identity);
    return env;
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
        sl_log(SL_LOG_ERROR, "broker",
               "cannot bind the %s socket again (%s): %s", side,
               endpoint ? endpoint : "?", zmq_strerror(zmq_errno()));
    else
        sl_log(SL_LOG_INFO, "broker",
               "%s connections cut after a revocation; allowed peers reconnect",
               side);
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
    if (workers)
        sl_backend_drop_revoked(l);
    if (clients)
        cut_connections(l->front, "client");
    if (workers)
        cut_connections(l->back, "worker");
}

/* ---- the loop ------------------------------------------------------------ */

/* Healthy: the loop answers (else the HTTP thread says 503 itself).
 * Ready: it takes new runs (not stopping). */
static void
answer_http(const char *path, sl_http_reply_t *reply, void *ctx)
{
    loop_t *l = ctx;
    sl_http_page(path, reply, sl_status_metrics, l,
                 l->is_stopping ? "stopping: new runs are refused" : NULL);
}

/* Binds the sockets (CURVE first, when keys are given); on failure says
 * what failed in why. */
static int
bind_sockets(loop_t *l, const sl_broker_options_t *opt, char *why, size_t size)
{
    sl_error_t err = {0};
    sl_envelope_tune(l->front);
    sl_envelope_tune(l->back);
    zsock_set_maxmsgsize(l->front, CLIENT_FRAME_MAX_BYTES);
    zsock_set_sndhwm(l->front, CLIENT_QUEUE_MAX);
    if (opt->key_file) { /* the ZAP handler is bound before the sockets */
        if (!(l->auth =
                  sl_auth_new(opt->key_file, opt->allow_clients,
                              opt->allow_workers, opt->allow_programs, &err))) {
            snprintf(why, size, "%s", err.msg);
            return SL_EINVAL;
        }
        sl_auth_serve(l->auth, l->front, SL_AUTH_CLIENTS);
        sl_auth_serve(l->auth, l->back, SL_AUTH_WORKERS);
    } else if (opt->allow_clients || opt->allow_workers ||
               opt->allow_programs) {
        snprintf(why, size, "an allow-list needs the broker's key (--key)");
        return SL_EINVAL;
    }
    /* no ROUTER_HANDOVER: see backend.c */
    zsock_set_router_mandatory(l->front, 1);
    zsock_set_router_mandatory(l->back, 1);
    const char *endpoint = opt->frontend;
    if (zsock_bind(l->front, "%s", opt->frontend) < 0 ||
        zsock_bind(l->back, "%s", (endpoint = opt->backend)) < 0) {
        snprintf(why, size, "cannot bind %s: %s", endpoint,
                 zmq_strerror(zmq_errno()));
        return SL_EIO;
    }
    return 0;
}

/* Sets up sockets, scheduler and runbook; on failure says what failed in
 * why (for sl_broker_new's error). */
static int
loop_init(loop_t *l, zsock_t *pipe, const sl_broker_options_t *opt, char *why,
          size_t size)
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
    int rc = bind_sockets(l, opt, why, size);
    if (rc < 0)
        return rc;
    if (opt->http && !(l->http = sl_http_new(opt->http, &err))) {
        snprintf(why, size, "%s", err.msg);
        return SL_EIO;
    }
    if (l->http)
        sl_http_describe(l->http, opt->http, l->http_at, sizeof l->http_at);
    l->poller =
        zpoller_new(pipe, l->front, l->back, sl_syncer_sock(l->syncer), NULL);
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
    sl_sched_destroy(&l->sched);     /* before the runs: it points at jobs */
    sl_runbook_destroy(&l->runbook); /* writes and syncs the journal */
    sl_auth_destroy(&l->auth);       /* after the sockets it checked */
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
        sl_log(SL_LOG_INFO, "broker",
               "stopping: new runs are refused, the journal is synced");
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
        sl_loop_touch(l, run);
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

/* Gives freed memory back to the system once the broker is idle after a
 * burst: glibc keeps what a burst of runs freed (its heap is fragmented),
 * and a long-lived broker must not keep its peak. */
static void
trim_when_idle(loop_t *l)
{
    sl_sched_counts_t c;
    sl_sched_counts(l->sched, &c);
    bool is_idle =
        c.queued + c.delayed + c.held == 0 && zlistx_size(l->unconfirmed) == 0;
    if (!is_idle || !l->is_trim_due)
        return;
    uint64_t before = 0, after = 0, peak = 0;
    sl_procmem_read(&before, &peak);
    malloc_trim(0);
    sl_procmem_read(&after, &peak);
    l->is_trim_due = false;
    sl_log(SL_LOG_DEBUG, "broker",
           "idle: memory given back, rss %llu -> %llu KiB (peak %llu KiB)",
           (unsigned long long)before >> 10, (unsigned long long)after >> 10,
           (unsigned long long)peak >> 10);
}

/* Every heartbeat: workers, journal sync, keys; and a new allowance of
 * log lines for bad messages. */
static void
on_tick(loop_t *l)
{
    trim_when_idle(l);
    sl_backend_tick(l);
    sl_sched_release_due(l->sched, zclock_mono());
    sl_frontend_start_sync(l, true);
    reload_keys(l);
    l->bad_logged = 0;
}

/* How long the loop may wait for a message before something is due. */
static int
wait_ms(loop_t *l, int64_t next_tick)
{
    int64_t now = zclock_mono();
    int64_t due = sl_sched_next_due(l->sched, now);
    int64_t wait = next_tick - now;
    if (due >= 0 && due < wait)
        wait = due;
    int64_t sync_at =
        sl_syncer_is_busy(l->syncer) ? -1 : sl_frontend_sync_due(l);
    /* at least 1 ms, so that a sync that failed to start cannot spin */
    if (sync_at >= 0 && sync_at - now < wait)
        wait = sync_at > now ? sync_at - now : 1;
    return wait > 0 ? (int)wait : 0;
}

static void
run_loop(loop_t *l)
{
    int64_t next_tick = zclock_mono() + l->opt->heartbeat_ms;
    for (;;) {
        void *which = zpoller_wait(l->poller, wait_ms(l, next_tick));
        if (which == l->pipe && !on_pipe(l))
            break; /* $TERM */
        if (!which && zpoller_terminated(l->poller))
            break;
        if (which == l->front)
            sl_frontend_on_message(l);
        else if (which == l->back)
            sl_backend_on_message(l);
        else if (which == sl_syncer_sock(l->syncer))
            sl_frontend_on_synced(l);
        else if (l->auth && which == sl_auth_zap(l->auth))
            sl_auth_on_zap(l->auth);
        else if (l->http && which == sl_http_sock(l->http))
            sl_http_answer(l->http, answer_http, l);
        int64_t now = zclock_mono();
        if (now >= next_tick) {
            on_tick(l);
            next_tick = now + l->opt->heartbeat_ms;
        }
        sl_sched_release_due(l->sched, now);
        sl_backend_dispatch(l);
        sl_frontend_flush(l);
        sl_frontend_start_sync(l, false);
    }
}

static void
broker_actor(zsock_t *pipe, void *args)
{
    loop_t l = {0};
    const sl_broker_options_t *opt = args;
    char why[600];
    int rc = loop_init(&l, pipe, opt, why, sizeof why);
    if (rc == 0) {
        sl_log(SL_LOG_INFO, "broker",
               "clients=%s workers=%s journal=%s curve=%s http=%s",
               opt->frontend, opt->backend,
               opt->journal ? opt->journal : "(none)", l.auth ? "on" : "off",
               l.http ? l.http_at : "off");
        if (!l.auth && !is_inproc(opt))
            sl_log(SL_LOG_WARN, "broker",
                   "no key (--key): clients and workers connect in the clear, "
                   "unauthenticated and unencrypted");
    }
    zsock_signal(pipe, 0);
    zstr_sendf(pipe, "%s", rc == 0 ? "ok" : why);
    if (rc == 0) {
        resume(&l);
        sl_frontend_flush(&l);
        run_loop(&l);
    }
    loop_fini(&l);
}

static void
free_options(sl_broker_options_t *o)
{
    free((char *)o->frontend);
    free((char *)o->backend);
    free((char *)o->journal);
    free((char *)o->key_file);
    free((char *)o->allow_clients);
    free((char *)o->allow_workers);
    free((char *)o->allow_programs);
    free((char *)o->http);
}

/* Copies opt's strings into b->opt, with the defaults filled in. */
static int
copy_options(sl_broker_t *b, const sl_broker_options_t *opt)
{
    b->opt = *opt;
    const char **strings[] = {&b->opt.frontend,       &b->opt.backend,
                              &b->opt.journal,        &b->opt.key_file,
                              &b->opt.allow_clients,  &b->opt.allow_workers,
                              &b->opt.allow_programs, &b->opt.http};
    if (!b->opt.frontend)
        b->opt.frontend = SL_BROKER_FRONTEND;
    if (!b->opt.backend)
        b->opt.backend = SL_BROKER_BACKEND;
    bool ok = true;
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        if (!*strings[i])
            continue;
        *strings[i] = strdup(*strings[i]); /* NULL: freed as nothing */
        ok = ok && *strings[i];
    }
    if (!b->opt.finished_runs)
        b->opt.finished_runs = 100;
    if (!b->opt.heartbeat_ms)
        b->opt.heartbeat_ms = 1000;
    if (!b->opt.liveness)
        b->opt.liveness = 3;
    return ok ? 0 : SL_ENOMEM;
}

sl_broker_t *
sl_broker_new(const sl_broker_options_t *opt, sl_error_t *err)
{
    sl_broker_t *b = calloc(1, sizeof *b);
    if (!b || copy_options(b, opt) < 0) {
        sl_error_set(err, SL_ENOMEM, "out of memory");
        sl_broker_destroy(&b);
        return NULL;
    }
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
        free_options(&(*p)->opt);
        free(*p);
        *p = NULL;
    }
}
