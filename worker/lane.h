/* worker/lane.h: an executor's own connection to the broker, on which it
 * sends its results itself (docs/PROTOCOL.md, "Lanes"): no hop through
 * the worker thread between a task's end and the wire. A lane only sends;
 * while it is not connected (starting, a broker restart, a key the broker
 * refused) a send fails at once and the executor hands the results to the
 * worker thread, as without a lane. */
#ifndef SL_LANE_H
#define SL_LANE_H

#include "error.h"

#include <czmq.h>
#include <stdatomic.h>

typedef struct sl_lane_config {
    const char *endpoint; /* the broker's worker socket; NULL: no lanes */
    const char *key_file; /* CURVE, as the worker's own connection */
    const char *broker_key_file; /* (both NULL: $SLUICE_KEY, ...) */
    const char *incarnation;     /* the worker's, named in every batch */
    const atomic_bool *is_taken; /* the broker takes answers on lanes (its
                                    last TaskBatch said so); the worker
                                    thread's, read by the executors */
} sl_lane_config_t;

/* A DEALER connecting to cfg's endpoint, or NULL (no endpoint, or it
 * could not be made: err says why). */
zsock_t *sl_lane_open(const sl_lane_config_t *cfg, sl_error_t *err);

/* Whether answers may go on lanes now: the broker takes them. */
bool sl_lane_is_taken(const sl_lane_config_t *cfg);

/* Sends *frame (a packed Envelope) if the lane is connected, taking it;
 * false leaves it with the caller. NULL-safe. */
bool sl_lane_send(zsock_t *lane, zframe_t **frame);

#endif
