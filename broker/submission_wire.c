/* broker/submission_wire.c: Submit messages into submissions
 * (submission.h, submission_wire.h). Pure; the broker loop thread calls
 * it. The flow is validated again here with the client's rules. */
#include "submission_wire.h"

#include "caps.h"
#include "flow_wire.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

void
sl_submission_fini(sl_submission_t *s)
{
    sl_flow_destroy(&s->flow);
    sl_value_destroy(&s->params);
    memset(s, 0, sizeof *s);
}

/* The flow's defaults with the message's overrides; NULL with err. */
static sl_value_t *
merge_params(const sl_flow_t *flow, const Sluice__Submit *s, sl_error_t *err)
{
    sl_value_t *params = sl_value_copy(flow->params);
    if (!params)
        sl_error_set(err, SL_ENOMEM, "broker out of memory");
    for (size_t i = 0; params && i < s->n_params; i++) {
        const char *name = s->params[i]->name;
        sl_value_t *v = NULL;
        int rc = 0;
        if (!sl_value_lookup(flow->params, name))
            rc = sl_error_set(err, SL_EINVAL,
                              "unknown parameter '%s': flow '%s' does not "
                              "declare it under params:",
                              name, flow->name);
        else if ((rc = sl_wire_value_unpack(s->params[i]->value, &v, err)) == 0)
            rc = sl_value_put(params, name, &v);
        if (rc < 0)
            sl_value_destroy(&params);
    }
    return params;
}

int
sl_submission_from_wire(const Sluice__Submit *msg, sl_submission_t *out,
                        sl_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (!msg->flow)
        return sl_error_set(err, SL_EINVAL, "submit has no flow");
    if (!(out->flow = sl_flow_wire_unpack(msg->flow, err)))
        return err && err->code ? err->code : SL_EINVAL;
    if (!(out->params = merge_params(out->flow, msg, err))) {
        sl_submission_fini(out);
        return err && err->code ? err->code : SL_EINVAL;
    }
    out->wants_events = msg->events;
    out->worker_wait_ms = msg->worker_wait_ms;
    out->is_unlisted = msg->unlisted;
    return 0;
}

int
sl_submission_decode(const void *data, size_t size, sl_submission_t *out,
                     sl_error_t *err)
{
    Sluice__Submit *msg =
        (Sluice__Submit *)sl_wire_unpack(&sluice__submit__descriptor, data,
                                         size);
    memset(out, 0, sizeof *out);
    if (!msg)
        return sl_error_set(err, SL_EINVAL,
                            "a journalled submit of %zu bytes does not decode",
                            size);
    int rc = sl_submission_from_wire(msg, out, err);
    sluice__submit__free_unpacked(msg, NULL);
    return rc;
}

int
sl_submission_pack(const Sluice__Submit *msg, sl_buf_t *out)
{
    size_t size = sluice__submit__get_packed_size(msg);
    out->size = 0;
    if (size > SL_MSG_MAX_BYTES)
        return SL_ETOOBIG;
    if (sl_buf_reserve(out, size) < 0)
        return SL_ENOMEM;
    sluice__submit__pack(msg, (uint8_t *)out->data);
    out->size = size;
    return 0;
}
