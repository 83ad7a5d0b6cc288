/* common/flow_check.c: sl_flow_validate, the rules a flow must meet before
 * any of it runs. Pure; never changes the flow. Each error names the file,
 * line and column of the part that is wrong. */
#include "flow.h"

#include "caps.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const sl_flow_t *flow; /* being checked */
    const sl_node_t *node; /* whose references are walked */
    sl_pos_t pos;          /* where those references stand */
    bool is_map_source;    /* walking a map source, not args */
    sl_error_t *err;       /* first error */
    int rc;                /* 0 until an error */
} check_t;

static int fail_at(check_t *c, sl_pos_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the first error, at pos; later ones are dropped. Returns it. */
static int
fail_at(check_t *c, sl_pos_t pos, const char *fmt, ...)
{
    char where[300], msg[400];
    va_list ap;
    if (c->rc < 0)
        return c->rc;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->rc = sl_error_set(c->err, SL_EINVAL, "%s: %s",
                         sl_flow_where(c->flow, pos, where, sizeof where), msg);
    return c->rc;
}

static void
check_ref(check_t *c, const sl_value_t *v)
{
    const char *name;
    const sl_node_t *n = c->node;
    switch (sl_flow_ref(v, &name)) {
    case SL_REF_NONE: break;
    case SL_REF_PARAM:
        if (!sl_value_lookup(c->flow->params, name))
            fail_at(c, c->pos,
                    "node '%s' refers to '$params.%s', which is not a declared "
                    "parameter",
                    n->name, name);
        break;
    case SL_REF_NAME:
        if (!c->is_map_source && sl_flow_is_map_var(n, name))
            break;
        if (strcmp(name, n->name) == 0)
            fail_at(c, c->pos, "node '%s' refers to itself ('$%s')", n->name,
                    name);
        else if (!sl_flow_find(c->flow, name))
            fail_at(c, c->pos,
                    "node '%s' refers to '$%s', which is not a node of this "
                    "flow",
                    n->name, name);
        break;
    }
    for (size_t i = 0; i < sl_value_count(v) && c->rc == 0; i++)
        check_ref(c, sl_value_at(v, i));
}

static sl_pos_t
or_node(sl_pos_t pos, const sl_node_t *n)
{
    return pos.line ? pos : n->pos;
}

static void
check_map(check_t *c, const sl_node_t *n)
{
    sl_pos_t pos = or_node(n->map_pos, n);
    size_t width = 0;
    bool has_width = false;
    for (size_t i = 0; i < n->map_count && c->rc == 0; i++) {
        const sl_value_t *src = n->map_sources[i];
        const char *ref;
        if (!sl_flow_is_name(n->map_vars[i], false))
            fail_at(c, pos, "node '%s': map variable '%s' is not a name",
                    n->name, n->map_vars[i]);
        else if (strcmp(n->map_vars[i], "params") == 0 ||
                 sl_flow_find(c->flow, n->map_vars[i]))
            fail_at(c, pos,
                    "node '%s': map variable '%s' has the name of a node or of "
                    "params",
                    n->name, n->map_vars[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(n->map_vars[i], n->map_vars[j]) == 0)
                fail_at(c, pos, "node '%s': map variable '%s' is given twice",
                        n->name, n->map_vars[i]);
        c->pos = pos;
        if (sl_flow_ref(src, &ref) != SL_REF_NONE) {
            c->is_map_source = true;
            check_ref(c, src);
            c->is_map_source = false;
            continue;
        }
        if (sl_value_type(src) != SL_LIST) {
            fail_at(c, pos,
                    "node '%s': map variable '%s' must be a list or a "
                    "reference like $node",
                    n->name, n->map_vars[i]);
            continue;
        }
        if (sl_value_count(src) > SL_MAP_MAX_WIDTH)
            fail_at(c, pos, "node '%s': map is wider than the cap of %d",
                    n->name, SL_MAP_MAX_WIDTH);
        if (has_width && sl_value_count(src) != width)
            fail_at(c, pos,
                    "node '%s': map lists of different lengths (variable '%s')",
                    n->name, n->map_vars[i]);
        width = sl_value_count(src);
        has_width = true;
        c->is_map_source = true;
        check_ref(c, src);
        c->is_map_source = false;
    }
}

static void
check_options(check_t *c, const sl_node_t *n)
{
    const sl_node_options_t *o = &n->opt;
    if (o->cache == SL_CACHE_KEY && (!o->cache_key || !*o->cache_key))
        fail_at(c, n->pos, "node '%s': cache: key needs a cache_key", n->name);
    if (o->cache_key && strlen(o->cache_key) > SL_KEY_MAX_BYTES - 64)
        fail_at(c, n->pos, "node '%s': cache_key is too long", n->name);
    if (o->cache_key && o->cache != SL_CACHE_KEY)
        fail_at(c, n->pos, "node '%s': cache_key is set but cache is not 'key'",
                n->name);
    if (o->cache_key && n->map_count)
        fail_at(c, n->pos,
                "node '%s' is mapped: a cache_key would give every element the "
                "same entry",
                n->name);
    if (o->ttl_ms < -1)
        fail_at(c, n->pos, "node '%s': bad ttl", n->name);
}

/* inputs: a list of path strings or references (resolved to strings, or
 * lists of strings, on the way to the worker). */
static void
check_inputs(check_t *c, const sl_node_t *n)
{
    const char *ref;
    if (!n->inputs || c->rc < 0)
        return;
    c->pos = or_node(n->inputs_pos, n);
    if (sl_value_type(n->inputs) != SL_LIST) {
        fail_at(c, c->pos, "node '%s': inputs must be a list of paths",
                n->name);
        return;
    }
    if (sl_value_count(n->inputs) > SL_INPUTS_MAX_COUNT)
        fail_at(c, c->pos, "node '%s': more than %d inputs", n->name,
                SL_INPUTS_MAX_COUNT);
    for (size_t i = 0; i < sl_value_count(n->inputs) && c->rc == 0; i++) {
        const sl_value_t *v = sl_value_at(n->inputs, i);
        size_t size = 0;
        if (sl_flow_ref(v, &ref) != SL_REF_NONE)
            continue;
        if (sl_value_type(v) != SL_STRING || !*sl_value_get_string(v, &size))
            fail_at(c, c->pos,
                    "node '%s': input %zu is not a path (a non-empty string "
                    "or a reference like $f)",
                    n->name, i + 1);
    }
    check_ref(c, n->inputs);
}

static void
check_node(check_t *c, size_t i)
{
    const sl_node_t *n = &c->flow->nodes[i];
    c->node = n;
    if (!sl_flow_is_name(n->name, false) || strcmp(n->name, "params") == 0)
        fail_at(c, n->pos,
                "node name '%s' is not a name (letters, digits, _ and -, not "
                "'params')",
                n->name);
    else if (!n->task || !*n->task)
        fail_at(c, n->pos, "node '%s' has no 'run' (the task to call)",
                n->name);
    else if (!sl_flow_is_name(n->task, true))
        fail_at(c, n->pos, "node '%s': task '%s' is not a task name", n->name,
                n->task);
    else if (sl_value_type(n->args) != SL_LIST)
        fail_at(c, or_node(n->args_pos, n), "node '%s': args must be a list",
                n->name);
    if (sl_flow_index(c->flow, n->name) != (ptrdiff_t)i)
        fail_at(c, n->pos, "node '%s' is defined twice", n->name);
    if (c->rc < 0)
        return;
    check_map(c, n);
    c->pos = or_node(n->args_pos, n);
    check_ref(c, n->args);
    check_inputs(c, n);
    check_options(c, n);
}

typedef struct {
    size_t *from; /* edge k: node from is needed by node to */
    size_t *to;
    size_t count; /* edges stored */
    size_t cap;   /* edges allocated */
    size_t node;  /* the node whose dependencies are being collected */
    bool is_oom;  /* an allocation failed */
} edges_t;

static void
add_edge(size_t dep, void *ctx)
{
    edges_t *e = ctx;
    if (e->count == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 16;
        size_t *from = realloc(e->from, cap * sizeof *from);
        if (from)
            e->from = from;
        size_t *to = realloc(e->to, cap * sizeof *to);
        if (to)
            e->to = to;
        if (!from || !to) {
            e->is_oom = true;
            return;
        }
        e->cap = cap;
    }
    e->from[e->count] = dep;
    e->to[e->count++] = e->node;
}

/* Kahn's algorithm over the reference edges, in O(nodes + edges): edges
 * come grouped by the node that needs them (in_at), and a counting sort
 * groups them by the node they need (out_at, by_from). Whatever is left
 * unordered sits on a cycle or behind one. */
static void
check_cycles(check_t *c)
{
    const sl_flow_t *f = c->flow;
    size_t n = f->node_count, head = 0, tail = 0;
    edges_t e = {0};
    size_t *pending = calloc(n + 1, sizeof *pending);
    size_t *queue = calloc(n + 1, sizeof *queue);
    size_t *in_at = calloc(n + 1, sizeof *in_at);
    size_t *out_at = calloc(n + 2, sizeof *out_at);
    size_t *fill = calloc(n + 1, sizeof *fill);
    size_t *by_from = NULL;
    for (size_t i = 0; i < n && pending && queue && in_at; i++) {
        e.node = i;
        in_at[i] = e.count;
        sl_flow_deps(f, i, add_edge, &e);
    }
    if (in_at)
        in_at[n] = e.count;
    by_from = calloc(e.count + 1, sizeof *by_from);
    if (!pending || !queue || !in_at || !out_at || !fill || !by_from ||
        e.is_oom) {
        c->rc = sl_error_set(c->err, SL_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < e.count; k++) {
        pending[e.to[k]]++;
        out_at[e.from[k] + 1]++;
    }
    for (size_t i = 0; i < n; i++)
        out_at[i + 1] += out_at[i];
    for (size_t k = 0; k < e.count; k++)
        by_from[out_at[e.from[k]] + fill[e.from[k]]++] = k;
    for (size_t i = 0; i < n; i++)
        if (pending[i] == 0)
            queue[tail++] = i;
    while (head < tail) {
        size_t done = queue[head++];
        for (size_t x = out_at[done]; x < out_at[done + 1]; x++)
            if (--pending[e.to[by_from[x]]] == 0)
                queue[tail++] = e.to[by_from[x]];
    }
    for (size_t i = 0; i < n && tail < n; i++) {
        if (pending[i] == 0)
            continue;
        size_t cur =
            i; /* n steps back along unordered edges end on the cycle */
        for (size_t step = 0; step < n; step++)
            for (size_t k = in_at[cur]; k < in_at[cur + 1]; k++)
                if (pending[e.from[k]] > 0) {
                    cur = e.from[k];
                    break;
                }
        fail_at(c, f->nodes[cur].pos,
                "node '%s' is part of a cycle of references",
                f->nodes[cur].name);
        break;
    }
out:
    free(e.from);
    free(e.to);
    free(pending);
    free(queue);
    free(in_at);
    free(out_at);
    free(fill);
    free(by_from);
}

int
sl_flow_validate(const sl_flow_t *flow, sl_error_t *err)
{
    check_t c = {.flow = flow, .err = err};
    sl_pos_t top = {0, 0};
    if (!flow->name || !*flow->name)
        return fail_at(&c, top, "the flow has no name ('flow: NAME')");
    if (flow->node_count == 0)
        return fail_at(&c, top, "flow '%s' has no tasks", flow->name);
    if (flow->node_count > SL_FLOW_MAX_NODES)
        return fail_at(&c, top, "flow '%s' has %zu nodes, over the cap of %d",
                       flow->name, flow->node_count, SL_FLOW_MAX_NODES);
    for (size_t i = 0; i < flow->node_count && c.rc == 0; i++)
        check_node(&c, i);
    if (c.rc == 0)
        check_cycles(&c);
    return c.rc;
}
