/* common/envelope.h: one protobuf Envelope per ZeroMQ frame, with the
 * protocol version, sent and received within the message size cap. */
#ifndef SL_ENVELOPE_H
#define SL_ENVELOPE_H

#include "error.h"
#include "wire.h"

#include <czmq.h>

#define SL_PROTOCOL_VERSION 1

/* Stamps env with the protocol version and sends it on sock as one frame,
 * after the routing id frame when identity is not NULL (ROUTER sockets).
 * Never blocks: a full queue is SL_ETIMEDOUT, an unroutable peer SL_EIO.
 * A message over SL_MSG_MAX_BYTES is SL_ETOOBIG and nothing is sent. */
int sl_envelope_send(zsock_t *sock, zframe_t *identity, Sluice__Envelope *env,
                     sl_error_t *err);

/* Sends a copy of packed, an Envelope packed already (kept to be sent
 * again), as sl_envelope_send does. */
int sl_envelope_send_packed(zsock_t *sock, zframe_t *identity, zframe_t *packed,
                            sl_error_t *err);

/* Decodes a received frame. Returns NULL, with err saying why, if the frame
 * is over the size cap, not a valid Envelope, of another protocol version,
 * or has no body. Free the result with sl_envelope_free. */
Sluice__Envelope *sl_envelope_decode(const void *data, size_t size,
                                     sl_error_t *err);

/* NULL-safe; sets *p to NULL. */
void sl_envelope_free(Sluice__Envelope **p);

/* The body's name ("ready", "submit", ...), for logs and errors. */
const char *sl_envelope_kind(const Sluice__Envelope *env);

/* Sets the socket options every sluice socket wants (linger, message size
 * cap, handshake and heartbeat intervals, keepalive, reconnect backoff);
 * ../shared/RELIABILITY-NOTES.md says why each one. */
void sl_envelope_tune(zsock_t *sock);

#endif
