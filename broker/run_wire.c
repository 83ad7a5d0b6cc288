/* broker/run_wire.c: runs to wire messages (run_wire.h). Owned by the
 * broker loop thread. Builds views that borrow from the run: nothing here
 * outlives the message it builds. */
#include "run_wire.h"

#include "envelope.h"
#include "wire.h"

#include <stdlib.h>

static char *
or_empty(const char *s)
{
    return (char *)(s ? s : "");
}

int
sl_run_wire_events(const sl_run_t *run, Sluice__EventBatch *batch)
{
    const sl_run_event_t *events;
    size_t n = sl_run_events(run, &events);
    sluice__event_batch__init(batch);
    Sluice__Event *items = calloc(n + 1, sizeof *items);
    Sluice__Event **ptrs = calloc(n + 1, sizeof *ptrs);
    if (!items || !ptrs) {
        free(items);
        free(ptrs);
        return SL_ENOMEM;
    }
    const sl_flow_t *flow = sl_run_flow(run);
    for (size_t i = 0; i < n; i++) {
        const sl_run_event_t *e = &events[i];
        Sluice__Event *m = &items[i];
        sluice__event__init(m);
        m->run_id = (char *)sl_run_id(run);
        m->node = flow->nodes[e->node].name;
        m->index = e->index;
        m->kind = (Sluice__Event__Kind)e->kind;
        m->worker_id = or_empty(e->worker_id);
        m->error = or_empty(e->error);
        m->cache = (Sluice__Result__Cache)e->cache;
        m->cache_error = or_empty(e->cache_error);
        m->cache_key = or_empty(e->cache_key);
        m->duration_us = e->duration_us;
        m->total = e->total;
        m->done = e->done;
        if (e->value && sl_wire_value_view(e->value, &m->value, NULL) < 0)
            m->value = NULL; /* progress information: dropped */
        ptrs[i] = m;
    }
    if (n == 0)
        free(items); /* events[0], which the free takes as the items */
    batch->events = ptrs;
    batch->n_events = n;
    return 0;
}

void
sl_run_wire_events_free(Sluice__EventBatch *batch)
{
    if (batch->events) {
        for (size_t i = 0; i < batch->n_events; i++)
            free(batch->events[i]->value); /* a view: one allocation */
        free(batch->events[0]); /* the items: the first is their start */
        free(batch->events);
    }
    batch->events = NULL;
    batch->n_events = 0;
}

Sluice__RunResult__State
sl_run_wire_state(sl_run_state_t state)
{
    switch (state) {
    case SL_RUN_DONE: return SLUICE__RUN_RESULT__STATE__DONE;
    case SL_RUN_FAILED: return SLUICE__RUN_RESULT__STATE__FAILED;
    case SL_RUN_CANCELLED: return SLUICE__RUN_RESULT__STATE__CANCELLED;
    default: return SLUICE__RUN_RESULT__STATE__RUNNING;
    }
}

static Sluice__NodeResult__State
node_state_msg(sl_node_state_t s)
{
    switch (s) {
    case SL_NODE_PENDING: return SLUICE__NODE_RESULT__STATE__PENDING;
    case SL_NODE_RUNNING: return SLUICE__NODE_RESULT__STATE__RUNNING;
    case SL_NODE_DONE: return SLUICE__NODE_RESULT__STATE__DONE;
    default: return SLUICE__NODE_RESULT__STATE__FAILED;
    }
}

typedef struct {
    Sluice__RunResult msg;     /* first: the message handed out */
    Sluice__NodeResult *nodes; /* storage */
    Sluice__NodeResult **ptrs;
} result_view_t;

Sluice__RunResult *
sl_run_wire_result(const sl_run_t *run)
{
    size_t n = sl_run_flow(run)->node_count;
    sl_run_summary_t sum;
    result_view_t *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->nodes = calloc(n, sizeof *v->nodes);
    v->ptrs = calloc(n, sizeof *v->ptrs);
    if (!v->nodes || !v->ptrs) {
        free(v->nodes);
        free(v->ptrs);
        free(v);
        return NULL;
    }
    sl_run_summary(run, &sum);
    sluice__run_result__init(&v->msg);
    v->msg.run_id = (char *)sum.run_id;
    v->msg.flow = (char *)sum.flow;
    v->msg.state = sl_run_wire_state(sum.state);
    v->msg.submitted_ms = sum.submitted_ms;
    v->msg.finished_ms = sum.finished_ms;
    for (size_t i = 0; i < n; i++) {
        sl_node_report_t r;
        Sluice__NodeResult *nr = &v->nodes[i];
        sl_run_node_report(run, (uint32_t)i, &r);
        sluice__node_result__init(nr);
        nr->name = (char *)r.name;
        nr->state = node_state_msg(r.state);
        nr->error = (char *)r.error;
        nr->tasks = r.tasks;
        nr->cached = r.cached;
        nr->failed = r.failed;
        nr->duration_us = r.duration_us;
        nr->cache_errors = r.cache_errors;
        nr->cache_error = (char *)r.cache_error;
        nr->errors = r.errors;
        nr->timeouts = r.timeouts;
        nr->deaths = r.deaths;
        if (r.value && sl_wire_value_view(r.value, &nr->value, NULL) < 0)
            nr->error = "result too large to send";
        v->ptrs[i] = nr;
        v->msg.n_nodes = i + 1;
    }
    v->msg.nodes = v->ptrs;
    return &v->msg;
}

void
sl_run_wire_result_free(Sluice__RunResult **p)
{
    if (!p || !*p)
        return;
    result_view_t *v = (result_view_t *)*p;
    for (size_t i = 0; i < v->msg.n_nodes; i++)
        free(v->nodes[i].value);
    free(v->nodes);
    free(v->ptrs);
    free(v);
    *p = NULL;
}

void
sl_run_wire_status(const sl_run_t *run, Sluice__RunStatus *out)
{
    sl_run_summary_t sum;
    sl_run_summary(run, &sum);
    sluice__run_status__init(out);
    out->run_id = (char *)sum.run_id;
    out->flow = (char *)sum.flow;
    out->state = sl_run_wire_state(sum.state);
    out->tasks = sum.tasks;
    out->done = sum.done;
    out->cached = sum.cached;
    out->failed = sum.failed;
    out->submitted_ms = sum.submitted_ms;
    out->finished_ms = sum.finished_ms;
}

zframe_t *
sl_run_wire_result_frame(const void *result, size_t size)
{
    Sluice__PackedResultEnvelope env = SLUICE__PACKED_RESULT_ENVELOPE__INIT;
    env.version = SL_PROTOCOL_VERSION;
    env.run_result = (ProtobufCBinaryData){size, (uint8_t *)result};
    zframe_t *f =
        zframe_new(NULL, sluice__packed_result_envelope__get_packed_size(&env));
    if (f)
        sluice__packed_result_envelope__pack(&env, zframe_data(f));
    return f;
}
