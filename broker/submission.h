/* broker/submission.h: a run as a client submitted it, in sluice's own
 * types: its flow, its parameters (the flow's defaults with the client's
 * overrides), and how it is to run. Made at the edge from a Submit
 * (frontend.c) or from the packed Submit a journal kept (runbook.c), by
 * submission_wire.c. */
#ifndef SL_SUBMISSION_H
#define SL_SUBMISSION_H

#include "flow.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct sl_submission {
    sl_flow_t *flow;         /* validated, owned */
    sl_value_t *params;      /* MAP: defaults and overrides, owned */
    bool wants_events;       /* stream task events to the followers */
    uint64_t worker_wait_ms; /* a task no worker serves fails after it */
    bool is_unlisted;        /* left out of status, not kept finished */
} sl_submission_t;

/* Frees what s holds; safe on a zeroed one. */
void sl_submission_fini(sl_submission_t *s);

/* From a packed Submit: 0, or an error code with err saying what was
 * wrong and where (a bad flow names its node, line and column); out is
 * left zeroed then. */
int sl_submission_decode(const void *data, size_t size, sl_submission_t *out,
                         sl_error_t *err);

#endif
