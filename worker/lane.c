/* worker/lane.c: an executor's own connection to the broker, for its
 * results (lane.h). */
#include "lane.h"

#include "curve.h"
#include "envelope.h"

#include <string.h>

/* How long a closing lane still tries to deliver what it was given. */
#define LANE_LINGER_MS 1000

zsock_t *
sl_lane_open(const sl_lane_config_t *cfg, sl_error_t *err)
{
    if (!cfg->endpoint)
        return NULL;
    zsock_t *lane = zsock_new(ZMQ_DEALER);
    if (!lane) {
        sl_error_set(err, SL_ENOMEM, "out of memory");
        return NULL;
    }
    sl_envelope_tune(lane);
    /* queue only to a connection that is up (with CURVE: whose handshake
     * went through), so that a send fails at once otherwise */
    zsock_set_immediate(lane, 1);
    zsock_set_linger(lane, LANE_LINGER_MS);
    bool is_curve = false;
    if (strncmp(cfg->endpoint, "inproc://", 9) != 0 &&
        sl_curve_dial(lane, cfg->key_file, cfg->broker_key_file, &is_curve,
                      err) < 0) {
        zsock_destroy(&lane);
        return NULL;
    }
    if (zsock_connect(lane, "%s", cfg->endpoint) != 0) {
        sl_error_set(err, SL_EINVAL, "cannot connect to '%s'", cfg->endpoint);
        zsock_destroy(&lane);
    }
    return lane;
}

bool
sl_lane_is_taken(const sl_lane_config_t *cfg)
{
    return cfg->is_taken && atomic_load(cfg->is_taken);
}

bool
sl_lane_send(zsock_t *lane, zframe_t **frame)
{
    return lane && zframe_send(frame, lane, ZFRAME_DONTWAIT) == 0;
}
