/* common/envelope.c: envelopes on ZeroMQ frames. Called by whichever thread
 * owns the socket. Never keeps a message: the caller owns what it gets. */
#include "envelope.h"

#include <errno.h>
#include <string.h>
#include <zmq.h>

/* Sends msg after the routing id frame, if any; msg is consumed. */
static int
send_msg(zsock_t *sock, zframe_t *identity, zmq_msg_t *msg, const char *kind,
         sl_error_t *err)
{
    void *raw = zsock_resolve(sock);
    if ((!identity ||
         zmq_send(raw, zframe_data(identity), zframe_size(identity),
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) &&
        zmq_msg_send(msg, raw, ZMQ_DONTWAIT) >= 0)
        return 0;
    int e = errno;
    zmq_msg_close(msg);
    return sl_error_set(err, e == EAGAIN ? SL_ETIMEDOUT : SL_EIO, "send %s: %s",
                        kind, zmq_strerror(e));
}

int
sl_envelope_send(zsock_t *sock, zframe_t *identity, Sluice__Envelope *env,
                 sl_error_t *err)
{
    env->version = SL_PROTOCOL_VERSION;
    size_t size = sluice__envelope__get_packed_size(env);
    if (size > SL_MSG_MAX_BYTES)
        return sl_error_set(err, SL_ETOOBIG,
                            "%s message of %zu bytes is over the cap of %u",
                            sl_envelope_kind(env), size, SL_MSG_MAX_BYTES);
    zmq_msg_t msg;
    if (zmq_msg_init_size(&msg, size) != 0)
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    sluice__envelope__pack(env, zmq_msg_data(&msg));
    return send_msg(sock, identity, &msg, sl_envelope_kind(env), err);
}

int
sl_envelope_send_packed(zsock_t *sock, zframe_t *identity, zframe_t *packed,
                        sl_error_t *err)
{
    zmq_msg_t msg;
    if (zmq_msg_init_size(&msg, zframe_size(packed)) != 0)
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    memcpy(zmq_msg_data(&msg), zframe_data(packed), zframe_size(packed));
    return send_msg(sock, identity, &msg, "packed envelope", err);
}

Sluice__Envelope *
sl_envelope_decode(const void *data, size_t size, sl_error_t *err)
{
    if (size > SL_MSG_MAX_BYTES) {
        sl_error_set(err, SL_ETOOBIG,
                     "message of %zu bytes is over the cap of %u", size,
                     SL_MSG_MAX_BYTES);
        return NULL;
    }
    Sluice__Envelope *env =
        (Sluice__Envelope *)sl_wire_unpack(&sluice__envelope__descriptor, data,
                                           size);
    if (!env) {
        sl_error_set(err, SL_EPROTO,
                     "message of %zu bytes is not a valid sluice envelope",
                     size);
        return NULL;
    }
    if (env->version != SL_PROTOCOL_VERSION) {
        sl_error_set(err, SL_EPROTO, "protocol version %u, this side speaks %d",
                     env->version, SL_PROTOCOL_VERSION);
        sl_envelope_free(&env);
    } else if (env->body_case == SLUICE__ENVELOPE__BODY__NOT_SET) {
        sl_error_set(err, SL_EPROTO, "envelope has no known message type");
        sl_envelope_free(&env);
    }
    return env;
}

void
sl_envelope_free(Sluice__Envelope **p)
{
    if (p && *p) {
        sluice__envelope__free_unpacked(*p, NULL);
        *p = NULL;
    }
}

const char *
sl_envelope_kind(const Sluice__Envelope *env)
{
    switch (env->body_case) {
    case SLUICE__ENVELOPE__BODY_READY: return "ready";
    case SLUICE__ENVELOPE__BODY_HEARTBEAT: return "heartbeat";
    case SLUICE__ENVELOPE__BODY_TASKS: return "tasks";
    case SLUICE__ENVELOPE__BODY_RESULTS: return "results";
    case SLUICE__ENVELOPE__BODY_DISCONNECT: return "disconnect";
    case SLUICE__ENVELOPE__BODY_SUBMIT: return "submit";
    case SLUICE__ENVELOPE__BODY_ACCEPTED: return "accepted";
    case SLUICE__ENVELOPE__BODY_REJECTED: return "rejected";
    case SLUICE__ENVELOPE__BODY_EVENTS: return "events";
    case SLUICE__ENVELOPE__BODY_RUN_RESULT: return "run_result";
    case SLUICE__ENVELOPE__BODY_STATUS_REQUEST: return "status_request";
    case SLUICE__ENVELOPE__BODY_STATUS: return "status";
    case SLUICE__ENVELOPE__BODY_CANCEL: return "cancel";
    case SLUICE__ENVELOPE__BODY_ERROR: return "error";
    case SLUICE__ENVELOPE__BODY_WATCH: return "watch";
    case SLUICE__ENVELOPE__BODY_CANCEL_TASKS: return "cancel_tasks";
    case SLUICE__ENVELOPE__BODY_PROGRESS: return "progress";
    default: return "unknown";
    }
}

void
sl_envelope_tune(zsock_t *sock)
{
    zsock_set_linger(sock, 1000);
    zsock_set_maxmsgsize(sock, SL_MSG_MAX_BYTES + 4096);
    zsock_set_handshake_ivl(sock, 5000);
    zsock_set_heartbeat_ivl(sock, 1000);
    zsock_set_heartbeat_timeout(sock, 3000);
    zsock_set_tcp_keepalive(sock, 1);
    zsock_set_reconnect_ivl_max(sock, 5000);
    zsock_set_sndhwm(sock, 100000);
    zsock_set_rcvhwm(sock, 100000);
}
