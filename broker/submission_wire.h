/* broker/submission_wire.h: a received Submit message into an
 * sl_submission_t, and into the packed bytes the journal keeps. */
#ifndef SL_SUBMISSION_WIRE_H
#define SL_SUBMISSION_WIRE_H

#include "buf.h"
#include "submission.h"

#include "proto/sluice.pb-c.h"

/* From a Submit message (as sl_submission_decode). */
int sl_submission_from_wire(const Sluice__Submit *msg, sl_submission_t *out,
                            sl_error_t *err);

/* The Submit packed into out (emptied first), as the journal keeps it. 0,
 * SL_ETOOBIG or SL_ENOMEM. */
int sl_submission_pack(const Sluice__Submit *msg, sl_buf_t *out);

#endif
