/* tests/unit/broker_peer.c: a scripted broker for unit tests
 * (broker_peer.h). The actor owns the ROUTER; the test talks to it over
 * the actor's pipe:
 *   "ENDPOINT"                -> the endpoint, as a string
 *   "REPLY" frames...         -> queued to answer the next message; signal
 *   "PUSH" frames...          -> sent to the last peer now; signal
 *   "TAKE" kind timeout_ms    -> the oldest kept message of that kind, at
 *                                once or when it comes, as its sender's
 *                                routing id and its frame; two empty
 *                                frames when the time is up */
#include "broker_peer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

struct sl_test_peer {
    zactor_t *actor;
    char endpoint[64];
};

typedef struct {
    zsock_t *pipe;
    zsock_t *router;
    zlistx_t *scripts; /* zmsg_t*: frames to answer the next messages with */
    zlistx_t *kept;    /* zmsg_t*: messages received, not taken yet (the
                          sender's routing id, the frame) */
    zframe_t *peer;    /* routing id of the last sender */
    int want;          /* a TAKE waits for this body (-1: none waits) */
    int64_t want_until;
} state_t;

static int
body_of(zframe_t *f)
{
    Sluice__Envelope *env =
        sl_envelope_decode(zframe_data(f), zframe_size(f), NULL);
    int body = env ? (int)env->body_case : -1;
    sl_envelope_free(&env);
    return body;
}

static void
send_to_peer(state_t *s, zmsg_t *frames)
{
    for (zframe_t *f = zmsg_pop(frames); f; f = zmsg_pop(frames)) {
        if (!s->peer) {
            zframe_destroy(&f);
            continue;
        }
        zframe_send(&s->peer, s->router, ZFRAME_MORE | ZFRAME_REUSE);
        zframe_send(&f, s->router, 0);
    }
}

/* Answers a waiting TAKE if a kept message matches it. */
static void
serve_take(state_t *s)
{
    if (s->want < 0)
        return;
    for (zmsg_t *m = zlistx_first(s->kept); m; m = zlistx_next(s->kept)) {
        int body = body_of(zmsg_last(m));
        if (s->want == 0 || body == s->want) {
            zlistx_detach_cur(s->kept);
            zmsg_send(&m, s->pipe);
            s->want = -1;
            return;
        }
    }
    if (zclock_mono() >= s->want_until) {
        zstr_sendm(s->pipe, "");
        zstr_send(s->pipe, "");
        s->want = -1;
    }
}

static void
on_message(state_t *s)
{
    zframe_destroy(&s->peer);
    s->peer = zframe_recv(s->router);
    zframe_t *f = zframe_recv(s->router);
    if (!s->peer || !f) {
        zframe_destroy(&f);
        return;
    }
    zmsg_t *m = zmsg_new();
    zmsg_addmem(m, zframe_data(s->peer), zframe_size(s->peer));
    zmsg_append(m, &f);
    zlistx_add_end(s->kept, m);
    zmsg_t *script = zlistx_first(s->scripts);
    if (script) {
        zlistx_detach_cur(s->scripts);
        send_to_peer(s, script);
        zmsg_destroy(&script);
    }
}

/* Returns false when the actor is to end. */
static bool
on_command(state_t *s)
{
    zmsg_t *cmd = zmsg_recv(s->pipe);
    if (!cmd)
        return false;
    char *verb = zmsg_popstr(cmd);
    bool is_on = verb && strcmp(verb, "$TERM") != 0;
    if (is_on && !strcmp(verb, "REPLY")) {
        zlistx_add_end(s->scripts, cmd);
        cmd = NULL;
        zsock_signal(s->pipe, 0);
    } else if (is_on && !strcmp(verb, "PUSH")) {
        send_to_peer(s, cmd);
        zsock_signal(s->pipe, 0);
    } else if (is_on && !strcmp(verb, "TAKE")) {
        char *kind = zmsg_popstr(cmd), *ms = zmsg_popstr(cmd);
        s->want = atoi(kind);
        s->want_until = zclock_mono() + atoi(ms);
        free(kind);
        free(ms);
    }
    free(verb);
    zmsg_destroy(&cmd);
    return is_on;
}

static void
destroy_msg(void **item)
{
    zmsg_destroy((zmsg_t **)item);
}

static void
peer_actor(zsock_t *pipe, void *args)
{
    (void)args;
    state_t s = {.pipe = pipe,
                 .router = zsock_new(ZMQ_ROUTER),
                 .scripts = zlistx_new(),
                 .kept = zlistx_new(),
                 .want = -1};
    zlistx_set_destructor(s.scripts, destroy_msg);
    zlistx_set_destructor(s.kept, destroy_msg);
    zsock_set_linger(s.router, 0);
    int port = zsock_bind(s.router, "tcp://127.0.0.1:*");
    zsock_signal(pipe, 0);
    zstr_sendf(pipe, "tcp://127.0.0.1:%d", port);
    zpoller_t *poller = zpoller_new(pipe, s.router, NULL);
    for (bool is_on = true; is_on;) {
        int64_t left = s.want < 0 ? -1 : s.want_until - zclock_mono();
        void *which = zpoller_wait(poller, s.want < 0 ? -1
                                           : left > 0 ? (int)left
                                                      : 0);
        if (which == s.router)
            on_message(&s);
        else if (which == pipe)
            is_on = on_command(&s);
        else if (zpoller_terminated(poller))
            is_on = false;
        serve_take(&s);
    }
    zpoller_destroy(&poller);
    zlistx_destroy(&s.scripts);
    zlistx_destroy(&s.kept);
    zframe_destroy(&s.peer);
    zsock_destroy(&s.router);
}

sl_test_peer_t *
sl_test_peer_new(void)
{
    sl_test_peer_t *p = calloc(1, sizeof *p);
    assert_non_null(p);
    p->actor = zactor_new(peer_actor, NULL);
    assert_non_null(p->actor);
    char *ep = zstr_recv(p->actor);
    assert_non_null(ep);
    assert_null(strstr(ep, ":-1"));
    snprintf(p->endpoint, sizeof p->endpoint, "%s", ep);
    free(ep);
    return p;
}

void
sl_test_peer_destroy(sl_test_peer_t **p)
{
    if (!p || !*p)
        return;
    zactor_destroy(&(*p)->actor);
    free(*p);
    *p = NULL;
}

const char *
sl_test_peer_endpoint(const sl_test_peer_t *p)
{
    return p->endpoint;
}

static void
send_frames(sl_test_peer_t *p, const char *verb, zframe_t *first, va_list ap)
{
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, verb);
    for (zframe_t *f = first; f; f = va_arg(ap, zframe_t *))
        zmsg_append(msg, &f);
    zmsg_send(&msg, p->actor);
    zsock_wait(p->actor);
}

void
sl_test_peer_answer_next(sl_test_peer_t *p, zframe_t *first, ...)
{
    va_list ap;
    va_start(ap, first);
    send_frames(p, "REPLY", first, ap);
    va_end(ap);
}

void
sl_test_peer_push(sl_test_peer_t *p, zframe_t *first, ...)
{
    va_list ap;
    va_start(ap, first);
    send_frames(p, "PUSH", first, ap);
    va_end(ap);
}

Sluice__Envelope *
sl_test_peer_take_from(sl_test_peer_t *p, int body_case, int timeout_ms,
                       zframe_t **from)
{
    zstr_sendm(p->actor, "TAKE");
    zstr_sendfm(p->actor, "%d", body_case);
    zstr_sendf(p->actor, "%d", timeout_ms);
    zmsg_t *m = zmsg_recv(p->actor);
    assert_non_null(m);
    zframe_t *id = zmsg_pop(m), *f = zmsg_pop(m);
    assert_non_null(f);
    Sluice__Envelope *env =
        zframe_size(f)
            ? sl_envelope_decode(zframe_data(f), zframe_size(f), NULL)
            : NULL;
    zframe_destroy(&f);
    zmsg_destroy(&m);
    if (from && env)
        *from = id;
    else
        zframe_destroy(&id);
    return env;
}

Sluice__Envelope *
sl_test_peer_take(sl_test_peer_t *p, int body_case, int timeout_ms)
{
    return sl_test_peer_take_from(p, body_case, timeout_ms, NULL);
}

zframe_t *
sl_test_pack(Sluice__Envelope *env, uint32_t version)
{
    env->version = version ? version : SL_PROTOCOL_VERSION;
    zframe_t *f = zframe_new(NULL, sluice__envelope__get_packed_size(env));
    assert_non_null(f);
    sluice__envelope__pack(env, zframe_data(f));
    return f;
}
