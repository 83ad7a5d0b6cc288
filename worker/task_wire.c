/* worker/task_wire.c: Task messages into task calls, answers into Result
 * messages (task_wire.h). Pure; called on executor threads. */
#include "task_wire.h"

#include "outcome_wire.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

void
sl_task_call_fini(sl_task_call_t *c)
{
    sl_value_destroy(&c->args);
    sl_value_destroy(&c->inputs);
    if (c->wire)
        sluice__task__free_unpacked(c->wire, NULL);
    memset(c, 0, sizeof *c);
}

static const char *
or_empty(const char *s)
{
    return s ? s : "";
}

int
sl_task_call_decode(const void *data, size_t size, sl_task_call_t *out,
                    sl_error_t *err)
{
    Sluice__Task *t =
        (Sluice__Task *)sl_wire_unpack(&sluice__task__descriptor, data, size);
    if (!t)
        return sl_error_set(err, SL_EINVAL, "task message does not decode");
    return sl_task_call_take(t, out, err);
}

int
sl_task_call_take(Sluice__Task *t, sl_task_call_t *out, sl_error_t *err)
{
    out->wire = t; /* the strings stay where they were decoded */
    out->task_id = t->task_id;
    out->attempt = t->attempt;
    out->version = t->version;
    out->cache = t->cache <= SLUICE__FLOW_NODE__CACHE_MODE__NONE
                     ? (sl_cache_mode_t)t->cache
                     : SL_CACHE_NONE;
    out->ttl_ms = t->ttl_ms;
    out->refresh = t->refresh;
    out->validate_inputs = t->validate_inputs;
    out->timeout_ms = t->timeout_ms;
    out->name = or_empty(t->name);
    out->cache_key = or_empty(t->cache_key);
    out->cache_namespace = or_empty(t->cache_namespace);
    out->cache_url = or_empty(t->cache_url);
    if (sl_wire_value_unpack(t->args, &out->args, err) < 0) {
        sl_error_prefix(err, "bad args");
        return SL_EINVAL;
    }
    if (sl_value_type(out->args) != SL_LIST)
        return sl_error_set(err, SL_EINVAL, "args must be a list");
    if (t->inputs && sl_wire_value_unpack(t->inputs, &out->inputs, err) < 0) {
        sl_error_prefix(err, "bad inputs");
        return SL_EINVAL;
    }
    if (out->inputs && sl_value_type(out->inputs) != SL_LIST)
        return sl_error_set(err, SL_EINVAL, "inputs must be a list");
    return 0;
}

void
sl_task_answer_wire(const sl_task_answer_t *a, Sluice__Result *r)
{
    sluice__result__init(r);
    r->task_id = a->task_id;
    r->attempt = a->attempt;
    sl_outcome_to_wire(a->outcome, r);
    r->cache_key = (char *)(a->cache_key ? a->cache_key : "");
    r->version = a->version;
}
