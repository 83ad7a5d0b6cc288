/* client/client.c: libsluice. A DEALER socket to the broker's client port.
 * Owned by the application thread that made it; logs nothing. */
#include <sluice/client.h>

#include "curve.h"
#include "envelope.h"
#include "flow_wire.h"
#include "value.h"
#include "trace.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sl_client {
    zsock_t *sock;           /* DEALER to the broker */
    zpoller_t *poller;       /* on sock, for timeouts */
    char *endpoint;          /* for error messages, owned */
    Sluice__Envelope *batch; /* events being handed out, owned */
    sl_value_t *progress;    /* the value of the PROGRESS event handed out
                                last, owned */
    size_t next_event;       /* index into batch */
    zlistx_t *following;     /* ids of runs not yet finished, owned */
    zlistx_t *pending;       /* envelopes (events, results) that came
                                while a request waited for its answer */
    int64_t heard_ms;        /* when the broker last said anything */
    sl_curve_watch_t *watch; /* CURVE: the handshakes, NULL in the clear */
};

/* Silent this long while following runs, a client asks again for each
 * (Watch): a restarted broker learns where to send their news. */
#define REATTACH_MS 3000

static void
free_string(void **item)
{
    free(*item);
    *item = NULL;
}

sl_client_t *
sl_client_new_curve(const char *endpoint, const char *key_file,
                    const char *broker_key_file, sl_error_t *err)
{
    sl_client_t *c = calloc(1, sizeof *c);
    bool is_curve = false;
    if (!c || !(c->endpoint = strdup(endpoint)) ||
        !(c->sock = zsock_new(ZMQ_DEALER)) ||
        !(c->poller = zpoller_new(c->sock, NULL)) ||
        !(c->following = zlistx_new()) || !(c->pending = zlistx_new())) {
        sl_error_set(err, SL_ENOMEM, "out of memory");
        sl_client_destroy(&c);
        return NULL;
    }
    zlistx_set_destructor(c->following, free_string);
    sl_envelope_tune(c->sock);
    bool is_inproc = !strncmp(endpoint, "inproc://", 9);
    if (!is_inproc &&
        sl_curve_dial(c->sock, key_file, broker_key_file, &is_curve, err) < 0) {
        sl_client_destroy(&c);
        return NULL;
    }
    if (!is_inproc && (!(c->watch = sl_curve_watch_new(c->sock, is_curve)) ||
                       zpoller_add(c->poller, sl_curve_watch_sock(c->watch)))) {
        sl_error_set(err, SL_ENOMEM, "cannot watch the CURVE handshake");
        sl_client_destroy(&c);
        return NULL;
    }
    if (zsock_connect(c->sock, "%s", endpoint) != 0) {
        sl_error_set(err, SL_EINVAL, "broker endpoint '%s': %s", endpoint,
                     zmq_strerror(zmq_errno()));
        sl_client_destroy(&c);
    }
    return c;
}

sl_client_t *
sl_client_new(const char *endpoint, sl_error_t *err)
{
    return sl_client_new_curve(endpoint, NULL, NULL, err);
}

void
sl_client_destroy(sl_client_t **p)
{
    if (!p || !*p)
        return;
    sl_client_t *c = *p;
    sl_envelope_free(&c->batch);
    sl_value_destroy(&c->progress);
    zlistx_destroy(&c->following);
    for (Sluice__Envelope *env = c->pending ? zlistx_first(c->pending) : NULL;
         env; env = zlistx_next(c->pending))
        sl_envelope_free(&env);
    zlistx_destroy(&c->pending);
    zpoller_destroy(&c->poller);
    sl_curve_watch_destroy(&c->watch); /* before the socket it watches */
    if (c->sock)
        zsock_set_linger(c->sock, 0); /* nothing owed to the broker */
    zsock_destroy(&c->sock);
    free(c->endpoint);
    free(c);
    *p = NULL;
}

/* The next envelope from the broker, or NULL on timeout / bad message, or
 * at once when the broker refused this client's key. */
static Sluice__Envelope *
receive(sl_client_t *c, int timeout_ms, sl_error_t *err)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    char why[300];
    void *which = NULL;
    while (which != c->sock) {
        if (sl_curve_watch_refused(c->watch, why, sizeof why)) {
            sl_error_set(err, SL_EREJECTED, "%s", why);
            return NULL;
        }
        int64_t left = deadline - zclock_mono();
        which = zpoller_wait(c->poller, timeout_ms < 0 ? -1
                                        : left > 0     ? (int)left
                                                       : 0);
        if (!which && zpoller_terminated(c->poller)) {
            sl_error_set(err, SL_EIO,
                         "interrupted while waiting for the broker at %s",
                         c->endpoint);
            return NULL;
        }
        if (!which && !sl_curve_watch_refused(c->watch, why, sizeof why)) {
            sl_error_set(err, SL_ETIMEDOUT,
                         "no answer from the broker at %s in %d ms",
                         c->endpoint, timeout_ms);
            return NULL;
        }
    }
    zframe_t *f = zframe_recv(c->sock);
    SL_TRACE("client.recv");
    c->heard_ms = zclock_mono();
    if (!f) {
        sl_error_set(err, SL_EIO, "receive from %s interrupted", c->endpoint);
        return NULL;
    }
    Sluice__Envelope *env =
        sl_envelope_decode(zframe_data(f), zframe_size(f), err);
    zframe_destroy(&f);
    return env;
}

/* While a request waits for its answer, news of the runs this client
 * follows is kept for sl_client_wait; anything else is dropped. */
static void
keep_for_later(sl_client_t *c, Sluice__Envelope **env)
{
    bool is_news = (*env)->body_case == SLUICE__ENVELOPE__BODY_EVENTS ||
                   (*env)->body_case == SLUICE__ENVELOPE__BODY_RUN_RESULT;
    if (is_news && zlistx_add_end(c->pending, *env))
        *env = NULL;
    else
        sl_envelope_free(env);
}

/* How long a send waits for room (a connection whose handshake failed
 * leaves none) before it gives up. */
#define SEND_WAIT_MS 2000

/* A DEALER queues what it sends until the broker is there. With no room
 * (no connection: CURVE refused it, or it is being made again), waits a
 * little for one, and says at once when the broker refused our key. */
static int
send_env(sl_client_t *c, Sluice__Envelope *env, sl_error_t *err)
{
    int64_t deadline = zclock_mono() + SEND_WAIT_MS;
    char why[300];
    for (;;) {
        int rc = sl_envelope_send(c->sock, NULL, env, err);
        if (rc != SL_ETIMEDOUT || zclock_mono() >= deadline)
            return rc;
        if (sl_curve_watch_refused(c->watch, why, sizeof why))
            return sl_error_set(err, SL_EREJECTED, "%s", why);
        zclock_sleep(10); /* a connection is being made */
    }
}

static void
follow(sl_client_t *c, const char *run_id)
{
    for (char *id = zlistx_first(c->following); id;
         id = zlistx_next(c->following))
        if (!strcmp(id, run_id))
            return;
    char *copy = strdup(run_id);
    if (copy)
        zlistx_add_end(c->following, copy);
}

static void
unfollow(sl_client_t *c, const char *run_id)
{
    for (char *id = zlistx_first(c->following); id;
         id = zlistx_next(c->following))
        if (!strcmp(id, run_id)) {
            zlistx_delete(c->following, zlistx_cursor(c->following));
            return;
        }
}

static int
send_watch(sl_client_t *c, const char *run_id, sl_error_t *err)
{
    Sluice__Watch watch = SLUICE__WATCH__INIT;
    watch.run_id = (char *)run_id;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_WATCH;
    env.watch = &watch;
    return send_env(c, &env, err);
}

/* After a silence, say again which runs we follow. */
static void
reattach(sl_client_t *c)
{
    if (zlistx_size(c->following) == 0 ||
        zclock_mono() - c->heard_ms < REATTACH_MS)
        return;
    for (char *id = zlistx_first(c->following); id;
         id = zlistx_next(c->following))
        send_watch(c, id, NULL);
    c->heard_ms = zclock_mono();
}

int
sl_client_submit(sl_client_t *c, const sl_flow_t *flow,
                 const sl_value_t *params, bool want_events, int timeout_ms,
                 char **run_id, sl_error_t *err)
{
    sl_submit_options_t opt = {.params = params,
                               .want_events = want_events,
                               .timeout_ms = timeout_ms};
    return sl_client_submit_with(c, flow, &opt, run_id, err);
}

int
sl_client_submit_with(sl_client_t *c, const sl_flow_t *flow,
                      const sl_submit_options_t *opt, char **run_id,
                      sl_error_t *err)
{
    const sl_value_t *params = opt->params;
    int timeout_ms = opt->timeout_ms;
    Sluice__Submit submit = SLUICE__SUBMIT__INIT;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    Sluice__Param **overrides = NULL;
    size_t count = 0;
    sl_error_t local = {0};
    *run_id = NULL;
    if (!err)
        err = &local;
    int rc = sl_flow_validate(flow, err);
    if (rc == 0)
        rc = sl_flow_wire_view(flow, &submit.flow, err);
    if (rc == 0 && params)
        rc = sl_flow_wire_params(params, &overrides, &count, err);
    if (rc < 0)
        goto out;
    submit.params = overrides;
    submit.n_params = count;
    submit.events = opt->want_events;
    submit.worker_wait_ms = opt->worker_wait_ms;
    submit.unlisted = opt->is_unlisted;
    env.body_case = SLUICE__ENVELOPE__BODY_SUBMIT;
    env.submit = &submit;
    if ((rc = send_env(c, &env, err)) < 0 || opt->is_async)
        goto out;
    int64_t deadline = zclock_mono() + timeout_ms;
    while (rc == 0 && !*run_id) {
        int left = (int)(deadline - zclock_mono());
        Sluice__Envelope *reply = receive(c, left > 0 ? left : 0, err);
        if (!reply) {
            rc = err->code ? err->code : SL_ETIMEDOUT;
            break;
        }
        if (reply->body_case == SLUICE__ENVELOPE__BODY_ACCEPTED) {
            *run_id = strdup(reply->accepted->run_id);
            follow(c, reply->accepted->run_id);
        } else if (reply->body_case == SLUICE__ENVELOPE__BODY_REJECTED) {
            rc = sl_error_set(err, SL_EREJECTED, "%s", reply->rejected->reason);
        } else if (reply->body_case == SLUICE__ENVELOPE__BODY_ERROR) {
            rc = sl_error_set(err, SL_EPROTO, "broker: %s",
                              reply->error->reason);
        } else {
            keep_for_later(c, &reply); /* news of an earlier run */
        }
        sl_envelope_free(&reply);
    }
out:
    sl_flow_wire_free(&submit.flow);
    sl_flow_wire_free_params(overrides, count);
    return rc;
}

static void
put(sl_value_t *map, const char *key, sl_value_t *v)
{
    sl_value_put(map, key, &v);
}

static const char *
node_state_name(Sluice__NodeResult__State s)
{
    switch (s) {
    case SLUICE__NODE_RESULT__STATE__PENDING: return "pending";
    case SLUICE__NODE_RESULT__STATE__RUNNING: return "running";
    case SLUICE__NODE_RESULT__STATE__DONE: return "done";
    default: return "failed";
    }
}

static const char *
run_state_name(Sluice__RunResult__State s)
{
    switch (s) {
    case SLUICE__RUN_RESULT__STATE__RUNNING: return "running";
    case SLUICE__RUN_RESULT__STATE__DONE: return "done";
    case SLUICE__RUN_RESULT__STATE__CANCELLED: return "cancelled";
    default: return "failed";
    }
}

/* The broker's times of a run: when it was accepted, when it finished and
 * how long it took (every client of a run sees the same). */
static void
put_times(sl_value_t *map, int64_t submitted_ms, int64_t finished_ms)
{
    sl_value_put_int(map, "submitted_ms", submitted_ms);
    sl_value_put_int(map, "finished_ms", finished_ms);
    sl_value_put_int(map, "duration_ms",
                     finished_ms && submitted_ms ? finished_ms - submitted_ms
                                                 : 0);
}

static sl_value_t *
result_value(const Sluice__RunResult *r)
{
    sl_value_t *map = sl_value_new_map(), *nodes = sl_value_new_list();
    sl_value_put_string(map, "run_id", r->run_id);
    sl_value_put_string(map, "flow", r->flow);
    sl_value_put_string(map, "state", run_state_name(r->state));
    put_times(map, r->submitted_ms, r->finished_ms);
    for (size_t i = 0; i < r->n_nodes; i++) {
        const Sluice__NodeResult *n = r->nodes[i];
        sl_value_t *node = sl_value_new_map(), *v = NULL;
        sl_value_put_string(node, "name", n->name);
        sl_value_put_string(node, "state", node_state_name(n->state));
        if (n->value && sl_wire_value_unpack(n->value, &v, NULL) == 0)
            put(node, "value", v);
        else
            put(node, "value", sl_value_new_null());
        sl_value_put_string(node, "error", n->error);
        sl_value_put_int(node, "tasks", n->tasks);
        sl_value_put_int(node, "cached", n->cached);
        sl_value_put_int(node, "failed", n->failed);
        sl_value_put_int(node, "duration_us", (int64_t)n->duration_us);
        sl_value_put_int(node, "cache_errors", n->cache_errors);
        sl_value_put_string(node, "cache_error", n->cache_error);
        sl_value_put_int(node, "errors", n->errors);
        sl_value_put_int(node, "timeouts", n->timeouts);
        sl_value_put_int(node, "deaths", n->deaths);
        sl_value_push(nodes, &node);
    }
    put(map, "nodes", nodes);
    return map;
}

/* e for the caller; a PROGRESS event's value is decoded into c (one that
 * does not decode is handed out as NULL). */
static void
fill_event(sl_client_t *c, const Sluice__Event *e, sl_event_t *out)
{
    sl_value_destroy(&c->progress);
    if (e->kind == SLUICE__EVENT__KIND__PROGRESS && e->value)
        sl_wire_value_unpack(e->value, &c->progress, NULL);
    *out = (sl_event_t){
        .kind = (sl_event_kind_t)e->kind,
        .run_id = e->run_id,
        .node = e->node,
        .index = e->index,
        .worker_id = e->worker_id,
        .error = e->error,
        .cache = (sl_cache_outcome_t)e->cache,
        .cache_error = e->cache_error,
        .duration_us = e->duration_us,
        .total = e->total,
        .done = e->done,
        .cache_key = e->cache_key,
        .value = c->progress,
    };
}

int
sl_client_wait(sl_client_t *c, sl_event_t *event, sl_value_t **result,
               int timeout_ms, sl_error_t *err)
{
    sl_error_t local = {0};
    *result = NULL;
    int64_t deadline = timeout_ms < 0 ? -1 : zclock_mono() + timeout_ms;
    if (!err)
        err = &local;
    for (;;) {
        if (c->batch && c->next_event < c->batch->events->n_events) {
            fill_event(c, c->batch->events->events[c->next_event++], event);
            return 1;
        }
        sl_envelope_free(&c->batch);
        reattach(c);
        int left = deadline < 0 ? REATTACH_MS : (int)(deadline - zclock_mono());
        if (left > REATTACH_MS)
            left = REATTACH_MS;
        Sluice__Envelope *env = zlistx_first(c->pending);
        if (env)
            zlistx_delete(c->pending, zlistx_cursor(c->pending));
        else
            env = receive(c, left > 0 ? left : 0, err);
        if (!env) {
            bool is_over = deadline >= 0 && zclock_mono() >= deadline;
            if ((err->code == SL_ETIMEDOUT && is_over) || err->code == SL_EIO ||
                err->code == SL_EREJECTED)
                return err->code;
            continue; /* a slice of the wait, or a bad message: go on */
        }
        switch (env->body_case) {
        case SLUICE__ENVELOPE__BODY_EVENTS:
            c->batch = env;
            c->next_event = 0;
            continue;
        case SLUICE__ENVELOPE__BODY_ACCEPTED: /* an async submit's */
            follow(c, env->accepted->run_id);
            sl_envelope_free(&env);
            continue;
        case SLUICE__ENVELOPE__BODY_REJECTED: {
            int rc =
                sl_error_set(err, SL_EREJECTED, "%s", env->rejected->reason);
            sl_envelope_free(&env);
            return rc;
        }
        case SLUICE__ENVELOPE__BODY_RUN_RESULT:
            unfollow(c, env->run_result->run_id);
            *result = result_value(env->run_result);
            sl_envelope_free(&env);
            return *result ? 0 : sl_error_set(err, SL_ENOMEM, "out of memory");
        default: sl_envelope_free(&env);
        }
    }
}

/* The broker's task counters and queue (as /metrics has them). */
static void
put_counts(sl_value_t *b, const Sluice__BrokerStatus *s)
{
    const struct {
        const char *name;
        uint64_t value;
    } counts[] = {{"tasks_dispatched", s->tasks_dispatched},
                  {"tasks_completed", s->tasks_completed},
                  {"tasks_cached", s->tasks_cached},
                  {"tasks_shared", s->tasks_shared},
                  {"tasks_failed", s->tasks_failed},
                  {"tasks_retried", s->tasks_retried},
                  {"workers_lost", s->workers_lost},
                  {"tasks_queued", s->tasks_queued},
                  {"tasks_delayed", s->tasks_delayed},
                  {"tasks_in_flight", s->tasks_in_flight}};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++)
        sl_value_put_int(b, counts[i].name, (int64_t)counts[i].value);
    sl_value_put_string(b, "http", s->http ? s->http : "");
}

static sl_value_t *
status_value(const Sluice__StatusReply *s)
{
    sl_value_t *map = sl_value_new_map();
    sl_value_t *workers = sl_value_new_list(), *queues = sl_value_new_list(),
               *runs = sl_value_new_list();
    for (size_t i = 0; i < s->n_workers; i++) {
        const Sluice__WorkerStatus *w = s->workers[i];
        sl_value_t *m = sl_value_new_map(), *tasks = sl_value_new_list();
        sl_value_put_string(m, "id", w->worker_id);
        sl_value_put_string(m, "host", w->hostname);
        sl_value_put_int(m, "pid", w->pid);
        sl_value_put_int(m, "slots", w->slots);
        sl_value_put_int(m, "in_flight", w->in_flight);
        put(m, "draining", sl_value_new_bool(w->draining));
        sl_value_put_int(m, "done", (int64_t)w->done);
        sl_value_put_int(m, "cache_errors", (int64_t)w->cache_errors);
        sl_value_put_int(m, "last_seen_ms", (int64_t)w->last_seen_ms);
        for (size_t k = 0; k < w->n_tasks; k++) {
            char ref[SL_NAME_MAX_BYTES + 16];
            snprintf(ref, sizeof ref, "%s@%u", w->tasks[k]->name,
                     w->tasks[k]->version);
            sl_value_t *t = sl_value_new_string(ref);
            sl_value_push(tasks, &t);
        }
        put(m, "tasks", tasks);
        sl_value_t *rules = sl_value_new_list();
        for (size_t k = 0; k < w->n_exec_rules; k++) {
            sl_value_t *r = sl_value_new_string(w->exec_rules[k]);
            sl_value_push(rules, &r);
        }
        put(m, "exec", rules);
        sl_value_push(workers, &m);
    }
    for (size_t i = 0; i < s->n_queues; i++) {
        sl_value_t *m = sl_value_new_map();
        sl_value_put_string(m, "task", s->queues[i]->task);
        sl_value_put_int(m, "depth", s->queues[i]->depth);
        sl_value_put_int(m, "workers", s->queues[i]->workers);
        sl_value_push(queues, &m);
    }
    for (size_t i = 0; i < s->n_runs; i++) {
        const Sluice__RunStatus *r = s->runs[i];
        sl_value_t *m = sl_value_new_map();
        sl_value_put_string(m, "run_id", r->run_id);
        sl_value_put_string(m, "flow", r->flow);
        sl_value_put_string(m, "state", run_state_name(r->state));
        sl_value_put_int(m, "tasks", r->tasks);
        sl_value_put_int(m, "done", r->done);
        sl_value_put_int(m, "cached", r->cached);
        sl_value_put_int(m, "failed", r->failed);
        put_times(m, r->submitted_ms, r->finished_ms);
        sl_value_push(runs, &m);
    }
    put(map, "workers", workers);
    put(map, "queues", queues);
    put(map, "runs", runs);
    if (s->broker) {
        sl_value_t *b = sl_value_new_map();
        sl_value_put_int(b, "pid", s->broker->pid);
        sl_value_put_int(b, "rss_bytes", (int64_t)s->broker->rss_bytes);
        sl_value_put_int(b, "peak_rss_bytes",
                         (int64_t)s->broker->peak_rss_bytes);
        sl_value_put_int(b, "uptime_ms", (int64_t)s->broker->uptime_ms);
        sl_value_t *curve = sl_value_new_bool(s->broker->curve);
        if (curve)
            sl_value_put(b, "curve", &curve);
        sl_value_put_int(b, "refused_clients",
                         (int64_t)s->broker->refused_clients);
        sl_value_put_int(b, "refused_workers",
                         (int64_t)s->broker->refused_workers);
        sl_value_put_int(b, "refused_messages",
                         (int64_t)s->broker->refused_messages);
        sl_value_put_int(b, "revoked_keys", (int64_t)s->broker->revoked_keys);
        put_counts(b, s->broker);
        put(map, "broker", b);
    }
    return map;
}

/* The broker's Error answering a request about a run: SL_ENOTFOUND for a
 * run it does not know, else SL_EPROTO. */
static int
broker_error(const Sluice__Error *e, sl_error_t *err)
{
    bool is_not_found = e->code == SLUICE__ERROR__CODE__NOT_FOUND ||
                        strstr(e->reason, "no such run");
    return sl_error_set(err, is_not_found ? SL_ENOTFOUND : SL_EPROTO,
                        "broker: %s", e->reason);
}

/* Converts the reply a request waits for into a value. */
typedef sl_value_t *(*reply_fn)(const Sluice__Envelope *reply);

/* Sends env and waits for the reply of kind body (other messages are kept
 * for later), converted by convert into *out; an Error is the broker's
 * answer, as an error code. */
static int
ask(sl_client_t *c, Sluice__Envelope *env, Sluice__Envelope__BodyCase body,
    reply_fn convert, int timeout_ms, sl_value_t **out, sl_error_t *err)
{
    sl_error_t local = {0};
    *out = NULL;
    if (!err)
        err = &local;
    int rc = send_env(c, env, err);
    int64_t deadline = zclock_mono() + timeout_ms;
    while (rc == 0 && !*out) {
        int left = (int)(deadline - zclock_mono());
        Sluice__Envelope *reply = receive(c, left > 0 ? left : 0, err);
        if (!reply)
            return err->code ? err->code : SL_ETIMEDOUT;
        if (reply->body_case == body)
            rc = (*out = convert(reply))
                     ? 0
                     : sl_error_set(err, SL_ENOMEM, "out of memory");
        else if (reply->body_case == SLUICE__ENVELOPE__BODY_ERROR)
            rc = broker_error(reply->error, err);
        else
            keep_for_later(c, &reply);
        sl_envelope_free(&reply);
    }
    return rc;
}

static sl_value_t *
status_of(const Sluice__Envelope *reply)
{
    return status_value(reply->status);
}

/* Sends env and waits for the StatusReply that answers it. */
static int
ask_status(sl_client_t *c, Sluice__Envelope *env, int timeout_ms,
           sl_value_t **status, sl_error_t *err)
{
    return ask(c, env, SLUICE__ENVELOPE__BODY_STATUS, status_of, timeout_ms,
               status, err);
}

int
sl_client_status(sl_client_t *c, const char *run_id, int timeout_ms,
                 sl_value_t **status, sl_error_t *err)
{
    Sluice__StatusRequest req = SLUICE__STATUS_REQUEST__INIT;
    req.run_id = run_id ? (char *)run_id : "";
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_STATUS_REQUEST;
    env.status_request = &req;
    return ask_status(c, &env, timeout_ms, status, err);
}

static sl_value_t *
logs_value(const Sluice__Envelope *reply)
{
    const Sluice__Logs *m = reply->logs;
    sl_value_t *v = sl_value_new_map(), *b;
    sl_value_put_string(v, "run_id", m->run_id);
    sl_value_put_string(v, "node", m->node);
    sl_value_put_int(v, "index", m->index);
    sl_value_put_int(v, "attempt", m->attempt);
    sl_value_put_string(v, "error", m->error);
    sl_value_put_string(v, "worker", m->worker_id);
    b = sl_value_new_bytes(m->stdout_tail.data, m->stdout_tail.len);
    sl_value_put(v, "stdout", &b);
    b = sl_value_new_bytes(m->stderr_tail.data, m->stderr_tail.len);
    sl_value_put(v, "stderr", &b);
    return v;
}

int
sl_client_logs(sl_client_t *c, const char *run_id, const char *node,
               uint32_t index, int timeout_ms, sl_value_t **logs,
               sl_error_t *err)
{
    Sluice__LogsRequest req = SLUICE__LOGS_REQUEST__INIT;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    req.run_id = (char *)run_id;
    req.node = (char *)node;
    req.index = index;
    env.body_case = SLUICE__ENVELOPE__BODY_LOGS_REQUEST;
    env.logs_request = &req;
    return ask(c, &env, SLUICE__ENVELOPE__BODY_LOGS, logs_value, timeout_ms,
               logs, err);
}

int
sl_client_cancel(sl_client_t *c, const char *run_id, int timeout_ms,
                 sl_value_t **status, sl_error_t *err)
{
    Sluice__Cancel cancel = SLUICE__CANCEL__INIT;
    cancel.run_id = (char *)run_id;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_CANCEL;
    env.cancel = &cancel;
    return ask_status(c, &env, timeout_ms, status, err);
}

int
sl_client_watch(sl_client_t *c, const char *run_id, int timeout_ms,
                sl_error_t *err)
{
    sl_error_t local = {0};
    if (!err)
        err = &local;
    int rc = send_watch(c, run_id, err);
    int64_t deadline = zclock_mono() + timeout_ms;
    while (rc == 0) {
        int left = (int)(deadline - zclock_mono());
        Sluice__Envelope *reply = receive(c, left > 0 ? left : 0, err);
        if (!reply)
            return err->code ? err->code : SL_ETIMEDOUT;
        bool is_ours = reply->body_case == SLUICE__ENVELOPE__BODY_ACCEPTED &&
                       !strcmp(reply->accepted->run_id, run_id);
        if (reply->body_case == SLUICE__ENVELOPE__BODY_ERROR)
            rc = broker_error(reply->error, err);
        else if (!is_ours)
            keep_for_later(c, &reply);
        sl_envelope_free(&reply);
        if (is_ours) {
            follow(c, run_id);
            return 0;
        }
    }
    return rc;
}
