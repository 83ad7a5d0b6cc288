/* tests/unit/broker_peer.h: the broker's side of a socket, scripted by a
 * unit test: a ROUTER on a loopback port, in a thread of its own, that
 * keeps every message a client or worker sends it and answers each with
 * the frames the test scripted. Real ZeroMQ: it lets a test send what a
 * broker may say, and what it should never say (garbage, another protocol
 * version), and see exactly what the other side sent. */
#ifndef SL_TEST_BROKER_PEER_H
#define SL_TEST_BROKER_PEER_H

#include "envelope.h"

#include <czmq.h>

typedef struct sl_test_peer sl_test_peer_t;

/* Binds tcp://127.0.0.1 on a free port; fails the test if it cannot. */
sl_test_peer_t *sl_test_peer_new(void);
void sl_test_peer_destroy(sl_test_peer_t **p);

/* "tcp://127.0.0.1:PORT" (borrowed). */
const char *sl_test_peer_endpoint(const sl_test_peer_t *p);

/* The frames (a NULL-terminated list, consumed) answer the next message
 * that comes in, in order. */
void sl_test_peer_answer_next(sl_test_peer_t *p, zframe_t *first, ...);

/* Sends the frames (NULL-terminated, consumed) now to whoever spoke last
 * (a worker's lane, if results came on one last: it never reads). */
void sl_test_peer_push(sl_test_peer_t *p, zframe_t *first, ...);

/* The oldest message received and not taken yet whose body is body_case
 * (0: any), waiting up to timeout_ms for one; NULL if none comes. Free it
 * with sl_envelope_free. */
Sluice__Envelope *sl_test_peer_take(sl_test_peer_t *p, int body_case,
                                    int timeout_ms);

/* sl_test_peer_take, and the routing id of the connection it came on
 * into *from (the caller's to destroy), when one comes. */
Sluice__Envelope *sl_test_peer_take_from(sl_test_peer_t *p, int body_case,
                                         int timeout_ms, zframe_t **from);

/* env packed into a frame, stamped with version (0: this side's). */
zframe_t *sl_test_pack(Sluice__Envelope *env, uint32_t version);

#endif
