/* worker/task_wire.h: the executor's edge: a packed Task message into an
 * sl_task_call_t, and an answer into a Result message. With worker.c's
 * talk to the broker, the only worker code that knows protobuf. */
#ifndef SL_TASK_WIRE_H
#define SL_TASK_WIRE_H

#include "outcome.h"
#include "task_call.h"

#include "proto/sluice.pb-c.h"

/* Decodes a packed Task into out (zeroed by the caller). 0, or SL_EINVAL
 * with err saying what was wrong: then out->task_id and out->attempt are
 * set if the message decoded at all (the answer can name the task). */
int sl_task_call_decode(const void *data, size_t size, sl_task_call_t *out,
                        sl_error_t *err);

/* The same from a Task already decoded (with the default allocator), which
 * out owns from now on (sl_task_call_fini frees it), whatever it returns. */
int sl_task_call_take(Sluice__Task *t, sl_task_call_t *out, sl_error_t *err);

/* What goes back for one call (strings and value borrowed). */
typedef struct sl_task_answer {
    uint64_t task_id;
    uint32_t attempt;
    const sl_outcome_t *outcome;
    const char *cache_key; /* "" for cache: none */
    uint32_t version;      /* the version that ran; 0: none did */
} sl_task_answer_t;

/* Fills r (initialised here) from a; r->value is the caller's to set. */
void sl_task_answer_wire(const sl_task_answer_t *a, Sluice__Result *r);

#endif
