/* common/flow_wire.c: sl_flow_t <-> protobuf Flow. Pure; any thread. The
 * unpacking side is an edge: it validates everything it builds. */
#include "flow_wire.h"

#include <stdlib.h>
#include <string.h>

/* Every allocation of one view, freed together. */
typedef struct {
    Sluice__Flow msg;        /* first: the message handed out */
    Sluice__FlowNode *nodes; /* node storage */
    Sluice__FlowNode **node_ptrs;
    Sluice__Param **params; /* from sl_flow_wire_params */
    size_t param_count;
} flow_view_t;

void
sl_flow_wire_free_params(Sluice__Param **params, size_t count)
{
    for (size_t i = 0; params && i < count; i++) {
        if (params[i])
            free(params[i]->value);
        free(params[i]);
    }
    free(params);
}

int
sl_flow_wire_params(const sl_value_t *map, Sluice__Param ***out, size_t *count,
                    sl_error_t *err)
{
    size_t n = sl_value_count(map);
    Sluice__Param **params = calloc(n + 1, sizeof *params);
    *out = NULL;
    *count = 0;
    if (!params)
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        params[i] = calloc(1, sizeof **params);
        if (!params[i]) {
            sl_flow_wire_free_params(params, n);
            return sl_error_set(err, SL_ENOMEM, "out of memory");
        }
        sluice__param__init(params[i]);
        params[i]->name = (char *)sl_value_key_at(map, i);
        int rc =
            sl_wire_value_view(sl_value_at(map, i), &params[i]->value, err);
        if (rc < 0) {
            sl_flow_wire_free_params(params, n);
            return rc;
        }
    }
    *out = params;
    *count = n;
    return 0;
}

static void
free_node_views(Sluice__FlowNode *n)
{
    free(n->args);
    free(n->inputs);
    for (size_t i = 0; i < n->n_map; i++) {
        if (n->map[i])
            free(n->map[i]->source);
        free(n->map[i]);
    }
    free(n->map);
}

void
sl_flow_wire_free(Sluice__Flow **p)
{
    if (!p || !*p)
        return;
    flow_view_t *v = (flow_view_t *)*p;
    for (size_t i = 0; v->nodes && i < v->msg.n_nodes; i++)
        free_node_views(&v->nodes[i]);
    free(v->nodes);
    free(v->node_ptrs);
    sl_flow_wire_free_params(v->params, v->param_count);
    free(v);
    *p = NULL;
}

static int
view_node(const sl_node_t *src, Sluice__FlowNode *n, sl_error_t *err)
{
    sluice__flow_node__init(n);
    n->name = src->name;
    n->task = src->task;
    n->version = src->version;
    n->cache = (Sluice__FlowNode__CacheMode)src->opt.cache;
    n->cache_key = src->opt.cache_key ? (char *)src->opt.cache_key : "";
    n->ttl_ms = src->opt.ttl_ms;
    n->refresh = src->opt.refresh;
    n->validate_inputs = src->opt.validate_inputs;
    n->retries = src->opt.retries;
    n->retry_delay_ms = src->opt.retry_delay_ms;
    n->timeout_ms = src->opt.timeout_ms;
    n->priority = src->opt.priority;
    n->line = src->pos.line;
    n->column = src->pos.column;
    int rc = sl_wire_value_view(src->args, &n->args, err);
    if (rc == 0 && src->inputs)
        rc = sl_wire_value_view(src->inputs, &n->inputs, err);
    if (rc < 0)
        return rc;
    n->map = calloc(src->map_count + 1, sizeof *n->map);
    if (!n->map)
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < src->map_count; i++) {
        Sluice__MapVar *m = calloc(1, sizeof *m);
        if (!m)
            return sl_error_set(err, SL_ENOMEM, "out of memory");
        n->map[n->n_map++] = m;
        sluice__map_var__init(m);
        m->name = src->map_vars[i];
        if ((rc = sl_wire_value_view(src->map_sources[i], &m->source, err)) < 0)
            return rc;
    }
    return 0;
}

int
sl_flow_wire_view(const sl_flow_t *flow, Sluice__Flow **out, sl_error_t *err)
{
    flow_view_t *v = calloc(1, sizeof *v);
    int rc = 0;
    *out = NULL;
    if (!v)
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    sluice__flow__init(&v->msg);
    v->msg.name = flow->name;
    v->msg.file = flow->file;
    v->msg.cache_url = flow->cache_url ? flow->cache_url : "";
    v->msg.cache_namespace = flow->cache_namespace;
    v->msg.ttl_ms = flow->ttl_ms;
    v->nodes = calloc(flow->node_count + 1, sizeof *v->nodes);
    v->node_ptrs = calloc(flow->node_count + 1, sizeof *v->node_ptrs);
    if (!v->nodes || !v->node_ptrs)
        rc = sl_error_set(err, SL_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < flow->node_count; i++) {
        v->node_ptrs[i] = &v->nodes[i];
        v->msg.n_nodes = i + 1;
        rc = view_node(&flow->nodes[i], &v->nodes[i], err);
    }
    v->msg.nodes = v->node_ptrs;
    if (rc == 0)
        rc =
            sl_flow_wire_params(flow->params, &v->params, &v->param_count, err);
    v->msg.params = v->params;
    v->msg.n_params = v->param_count;
    *out = &v->msg;
    if (rc < 0)
        sl_flow_wire_free(out);
    return rc;
}

static int
unpack_node(sl_flow_t *flow, const Sluice__FlowNode *n, sl_error_t *err)
{
    sl_value_t *args = NULL;
    char task[SL_NAME_MAX_BYTES + 16];
    int rc = sl_wire_value_unpack(n->args, &args, err);
    if (rc < 0)
        return rc;
    if (n->version)
        snprintf(task, sizeof task, "%.*s@%u", SL_NAME_MAX_BYTES, n->task,
                 n->version);
    else
        snprintf(task, sizeof task, "%.*s", SL_NAME_MAX_BYTES, n->task);
    if ((rc = sl_flow_add(flow, n->name, task, &args, err)) < 0)
        return rc;
    sl_node_t *node = sl_flow_last(flow);
    node->pos = (sl_pos_t){n->line, n->column};
    if (n->inputs) {
        sl_value_t *inputs = NULL;
        if ((rc = sl_wire_value_unpack(n->inputs, &inputs, err)) < 0 ||
            (rc = sl_flow_set_inputs(flow, n->name, &inputs, err)) < 0)
            return rc;
    }
    for (size_t i = 0; i < n->n_map; i++) {
        sl_value_t *source = NULL;
        rc = sl_wire_value_unpack(n->map[i]->source, &source, err);
        if (rc == 0)
            rc = sl_flow_add_map(flow, n->name, n->map[i]->name, &source, err);
        if (rc < 0)
            return rc;
    }
    if ((unsigned)n->cache > SL_CACHE_NONE)
        return sl_error_set(err, SL_EINVAL, "node '%s': unknown cache mode %d",
                            n->name, (int)n->cache);
    sl_node_options_t o = {
        .cache = (sl_cache_mode_t)n->cache,
        .cache_key = *n->cache_key ? n->cache_key : NULL,
        .ttl_ms = n->ttl_ms,
        .refresh = n->refresh,
        .validate_inputs = n->validate_inputs,
        .retries = n->retries,
        .retry_delay_ms = n->retry_delay_ms,
        .timeout_ms = n->timeout_ms,
        .priority = n->priority,
    };
    return sl_flow_set_options(flow, n->name, &o, err);
}

sl_flow_t *
sl_flow_wire_unpack(const Sluice__Flow *msg, sl_error_t *err)
{
    sl_flow_t *flow = sl_flow_new(msg->name);
    int rc = flow ? sl_flow_set_file(flow, *msg->file ? msg->file : "<flow>")
                  : SL_ENOMEM;
    if (rc < 0)
        sl_error_set(err, rc, "out of memory");
    if (rc == 0 && msg->n_nodes > SL_FLOW_MAX_NODES)
        rc = sl_error_set(err, SL_ETOOBIG,
                          "flow has %zu nodes, over the cap of %d",
                          msg->n_nodes, SL_FLOW_MAX_NODES);
    if (rc == 0)
        rc = sl_flow_set_cache(flow, *msg->cache_url ? msg->cache_url : NULL,
                               *msg->cache_namespace ? msg->cache_namespace
                                                     : NULL,
                               msg->ttl_ms, err);
    for (size_t i = 0; rc == 0 && i < msg->n_params; i++) {
        sl_value_t *v = NULL;
        rc = sl_wire_value_unpack(msg->params[i]->value, &v, err);
        if (rc == 0)
            rc = sl_flow_set_param(flow, msg->params[i]->name, &v, err);
    }
    for (size_t i = 0; rc == 0 && i < msg->n_nodes; i++)
        rc = unpack_node(flow, msg->nodes[i], err);
    if (rc == 0)
        rc = sl_flow_validate(flow, err);
    if (rc < 0)
        sl_flow_destroy(&flow);
    return flow;
}
