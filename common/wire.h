/* common/wire.h: values in their flat protobuf form (proto/sluice.proto,
 * message Value): pre-order nodes with child counts, decoded without
 * recursion and within the caps of caps.h. */
#ifndef SL_WIRE_H
#define SL_WIRE_H

#include "buf.h"
#include "error.h"
#include "value.h"

#include "proto/sluice.pb-c.h"

/* Builds a Value message that borrows v's strings: valid while v lives and
 * is unchanged. Free it with free(). Returns 0, SL_EINVAL (v nests deeper
 * than SL_VALUE_MAX_DEPTH or has more than SL_VALUE_MAX_NODES nodes) or
 * SL_ENOMEM. */
int sl_wire_value_view(const sl_value_t *v, Sluice__Value **out,
                       sl_error_t *err);

/* Builds a value from a received message, checking depth, node count,
 * child counts, map keys (no NUL, no duplicates). On error *out is NULL
 * and err says what was wrong. A NULL message is a null value. */
int sl_wire_value_unpack(const Sluice__Value *in, sl_value_t **out,
                         sl_error_t *err);

/* Unpacks a message of type d with a memory budget proportional to its
 * size: NULL if it is malformed or would need more. Free the result with
 * protobuf_c_message_free_unpacked(msg, NULL). */
ProtobufCMessage *sl_wire_unpack(const ProtobufCMessageDescriptor *d,
                                 const void *data, size_t size);

/* A value as standalone bytes (a packed Value message) and back. */
int sl_wire_value_encode(const sl_value_t *v, sl_buf_t *out, sl_error_t *err);
int sl_wire_value_decode(const void *data, size_t size, sl_value_t **out,
                         sl_error_t *err);

#endif
