/* common/flow_wire.h: flows in their protobuf form (message Flow), as a
 * client submits them. */
#ifndef SL_FLOW_WIRE_H
#define SL_FLOW_WIRE_H

#include "flow.h"
#include "wire.h"

/* Builds a Flow message that borrows from flow (valid while flow lives and
 * is unchanged). Free it with sl_flow_wire_free. */
int sl_flow_wire_view(const sl_flow_t *flow, Sluice__Flow **out,
                      sl_error_t *err);
void sl_flow_wire_free(Sluice__Flow **p);

/* Builds and validates a flow from a received message. NULL, with err
 * saying what was wrong and where, if it is not a valid flow. */
sl_flow_t *sl_flow_wire_unpack(const Sluice__Flow *msg, sl_error_t *err);

/* Param messages for the values of map (a MAP); free with
 * sl_flow_wire_free_params. */
int sl_flow_wire_params(const sl_value_t *map, Sluice__Param ***out,
                        size_t *count, sl_error_t *err);
void sl_flow_wire_free_params(Sluice__Param **params, size_t count);

#endif
