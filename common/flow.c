/* common/flow.c: the flow model, its builder and its validator. Pure; one
 * thread per flow. The validator is the one place that decides whether a
 * flow is well formed: the client runs it before submitting, the broker on
 * every submit. */
#include "flow.h"

#include "caps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sl_node_options_t
sl_node_options_default(void)
{
    return (sl_node_options_t){.cache = SL_CACHE_INPUTS,
                               .retry_delay_ms = SL_DEFAULT_RETRY_DELAY_MS};
}

sl_flow_t *
sl_flow_new(const char *name)
{
    sl_flow_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->name = strdup(name ? name : "");
    f->file = strdup("<flow>");
    f->cache_namespace = strdup(SL_DEFAULT_NAMESPACE);
    f->params = sl_value_new_map();
    f->by_name = zhashx_new();
    f->ttl_ms = SL_DEFAULT_TTL_MS;
    if (!f->name || !f->file || !f->cache_namespace || !f->params ||
        !f->by_name)
        sl_flow_destroy(&f);
    return f;
}

static void
node_fini(sl_node_t *n)
{
    free(n->name);
    free(n->task);
    sl_value_destroy(&n->args);
    sl_value_destroy(&n->inputs);
    for (size_t i = 0; i < n->map_count; i++) {
        free(n->map_vars[i]);
        sl_value_destroy(&n->map_sources[i]);
    }
    free(n->map_vars);
    free(n->map_sources);
    free((char *)n->opt.cache_key);
}

void
sl_flow_destroy(sl_flow_t **p)
{
    if (!p || !*p)
        return;
    sl_flow_t *f = *p;
    for (size_t i = 0; i < f->node_count; i++)
        node_fini(&f->nodes[i]);
    free(f->nodes);
    zhashx_destroy(&f->by_name);
    free(f->name);
    free(f->file);
    free(f->cache_url);
    free(f->cache_namespace);
    sl_value_destroy(&f->params);
    free(f);
    *p = NULL;
}

const char *
sl_flow_name(const sl_flow_t *flow)
{
    return flow->name;
}

int
sl_flow_set_file(sl_flow_t *flow, const char *file)
{
    char *copy = strdup(file);
    if (!copy)
        return SL_ENOMEM;
    free(flow->file);
    flow->file = copy;
    return 0;
}

const char *
sl_flow_where(const sl_flow_t *flow, sl_pos_t pos, char *buf, size_t size)
{
    if (pos.line)
        snprintf(buf, size, "%s:%u:%u", flow->file, pos.line, pos.column);
    else
        snprintf(buf, size, "%s", flow->file);
    return buf;
}

bool
sl_flow_is_name(const char *s, bool allow_dots)
{
    size_t n = strlen(s);
    if (n == 0 || n > SL_NAME_MAX_BYTES ||
        !(s[0] == '_' || ((s[0] | 32) >= 'a' && (s[0] | 32) <= 'z')))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        bool ok = c == '_' || c == '-' || (c >= '0' && c <= '9') ||
                  ((c | 32) >= 'a' && (c | 32) <= 'z') ||
                  (allow_dots && c == '.');
        if (!ok)
            return false;
    }
    return true;
}

/* Splits "name@version" into n->task and n->version. */
static int
set_task(sl_node_t *n, const char *task, sl_error_t *err)
{
    const char *at = strchr(task, '@');
    size_t len = at ? (size_t)(at - task) : strlen(task);
    char *e = NULL;
    long version = 0;
    if (at) {
        version = strtol(at + 1, &e, 10);
        if (at[1] == '\0' || *e || version < 1 || version > 1000000000)
            return sl_error_set(err, SL_EINVAL,
                                "node '%s': task '%s' has a bad version (write "
                                "name@N, N >= 1)",
                                n->name, task);
    }
    free(n->task);
    n->task = strndup(task, len);
    if (!n->task)
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    n->version = (uint32_t)version;
    return 0;
}

int
sl_flow_add(sl_flow_t *flow, const char *name, const char *task,
            sl_value_t **args, sl_error_t *err)
{
    int rc = 0;
    if (sl_flow_find(flow, name)) {
        rc = sl_error_set(err, SL_EEXIST, "node '%s' is defined twice", name);
        goto out;
    }
    if (flow->node_count == flow->node_cap) {
        size_t cap = flow->node_cap ? flow->node_cap * 2 : 8;
        sl_node_t *nodes = realloc(flow->nodes, cap * sizeof *nodes);
        if (!nodes) {
            rc = sl_error_set(err, SL_ENOMEM, "out of memory");
            goto out;
        }
        flow->nodes = nodes;
        flow->node_cap = cap;
    }
    sl_node_t *n = &flow->nodes[flow->node_count];
    memset(n, 0, sizeof *n);
    n->opt = sl_node_options_default();
    n->name = strdup(name);
    n->args = args && *args ? *args : sl_value_new_list();
    if (args)
        *args = NULL;
    if (!n->name || !n->args) {
        node_fini(n);
        rc = sl_error_set(err, SL_ENOMEM, "out of memory");
        goto out;
    }
    if (zhashx_insert(flow->by_name, n->name,
                      (void *)(uintptr_t)(flow->node_count + 1)) != 0) {
        node_fini(n);
        rc = sl_error_set(err, SL_ENOMEM, "out of memory");
        goto out;
    }
    flow->node_count++;
    rc = set_task(n, task ? task : "", err);
out:
    if (args)
        sl_value_destroy(args);
    return rc;
}

sl_node_t *
sl_flow_last(sl_flow_t *flow)
{
    return flow->node_count ? &flow->nodes[flow->node_count - 1] : NULL;
}

static sl_node_t *
find_mut(sl_flow_t *flow, const char *name, sl_error_t *err)
{
    ptrdiff_t i = sl_flow_index(flow, name);
    if (i < 0) {
        sl_error_set(err, SL_ENOTFOUND, "no node '%s'", name);
        return NULL;
    }
    return &flow->nodes[i];
}

int
sl_flow_add_map(sl_flow_t *flow, const char *node, const char *var,
                sl_value_t **source, sl_error_t *err)
{
    sl_node_t *n = find_mut(flow, node, err);
    int rc = n ? 0 : SL_ENOTFOUND;
    char **vars = NULL;
    sl_value_t **sources = NULL;
    if (rc == 0) {
        vars = realloc(n->map_vars, (n->map_count + 1) * sizeof *vars);
        if (vars)
            n->map_vars = vars;
        sources = realloc(n->map_sources, (n->map_count + 1) * sizeof *sources);
        if (sources)
            n->map_sources = sources;
    }
    if (rc == 0 && (!vars || !sources || !(vars[n->map_count] = strdup(var))))
        rc = sl_error_set(err, SL_ENOMEM, "out of memory");
    if (rc == 0) {
        sources[n->map_count++] = *source;
        *source = NULL;
    }
    sl_value_destroy(source);
    return rc;
}

int
sl_flow_set_inputs(sl_flow_t *flow, const char *node, sl_value_t **inputs,
                   sl_error_t *err)
{
    sl_node_t *n = find_mut(flow, node, err);
    if (n) {
        sl_value_destroy(&n->inputs);
        n->inputs = *inputs;
        *inputs = NULL;
    }
    sl_value_destroy(inputs);
    return n ? 0 : SL_ENOTFOUND;
}

int
sl_flow_set_options(sl_flow_t *flow, const char *node,
                    const sl_node_options_t *opt, sl_error_t *err)
{
    sl_node_t *n = find_mut(flow, node, err);
    if (!n)
        return SL_ENOTFOUND;
    char *key = opt->cache_key ? strdup(opt->cache_key) : NULL;
    if (opt->cache_key && !key)
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    free((char *)n->opt.cache_key);
    n->opt = *opt;
    n->opt.cache_key = key;
    return 0;
}

int
sl_flow_set_param(sl_flow_t *flow, const char *name, sl_value_t **value,
                  sl_error_t *err)
{
    if (!sl_flow_is_name(name, false)) {
        sl_value_destroy(value);
        return sl_error_set(err, SL_EINVAL,
                            "parameter name '%s' is not a name (letters, "
                            "digits, _ and -)",
                            name);
    }
    int rc = sl_value_put(flow->params, name, value);
    return rc < 0 ? sl_error_set(err, rc, "out of memory") : 0;
}

static int
replace(char **field, const char *value)
{
    char *copy = value ? strdup(value) : NULL;
    if (value && !copy)
        return SL_ENOMEM;
    free(*field);
    *field = copy;
    return 0;
}

int
sl_flow_set_cache(sl_flow_t *flow, const char *url, const char *ns,
                  int64_t ttl_ms, sl_error_t *err)
{
    if (ttl_ms == 0 || ttl_ms < -1)
        return sl_error_set(err, SL_EINVAL,
                            "cache TTL must be a positive duration or forever");
    if (ns && !sl_flow_is_name(ns, true))
        return sl_error_set(err, SL_EINVAL,
                            "cache namespace '%s' is not a name (letters, "
                            "digits, _, - and .)",
                            ns);
    if (replace(&flow->cache_url, url) < 0 ||
        replace(&flow->cache_namespace, ns ? ns : SL_DEFAULT_NAMESPACE) < 0)
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    flow->ttl_ms = ttl_ms;
    return 0;
}

sl_ref_kind_t
sl_flow_ref(const sl_value_t *v, const char **name)
{
    const char *s =
        sl_value_type(v) == SL_STRING ? sl_value_get_string(v, NULL) : NULL;
    if (!s || s[0] != '$' || s[1] == '$')
        return SL_REF_NONE;
    if (strncmp(s + 1, "params.", 7) == 0) {
        *name = s + 8;
        return SL_REF_PARAM;
    }
    *name = s + 1;
    return SL_REF_NAME;
}

ptrdiff_t
sl_flow_index(const sl_flow_t *flow, const char *name)
{
    uintptr_t at = (uintptr_t)zhashx_lookup(flow->by_name, name);
    return at ? (ptrdiff_t)at - 1 : -1;
}

const sl_node_t *
sl_flow_find(const sl_flow_t *flow, const char *name)
{
    ptrdiff_t i = sl_flow_index(flow, name);
    return i < 0 ? NULL : &flow->nodes[i];
}

bool
sl_flow_is_map_var(const sl_node_t *node, const char *name)
{
    for (size_t i = 0; i < node->map_count; i++)
        if (strcmp(node->map_vars[i], name) == 0)
            return true;
    return false;
}

typedef void (*ref_fn)(sl_ref_kind_t kind, const char *name, void *ctx);

static void
walk_refs(const sl_value_t *v, ref_fn fn, void *ctx)
{
    const char *name;
    sl_ref_kind_t kind = sl_flow_ref(v, &name);
    if (kind != SL_REF_NONE)
        fn(kind, name, ctx);
    for (size_t i = 0; i < sl_value_count(v); i++)
        walk_refs(sl_value_at(v, i), fn, ctx);
}

typedef struct {
    const sl_flow_t *flow; /* the flow */
    const sl_node_t *node; /* the node whose references are walked */
    sl_flow_dep_fn visit;  /* called per dependency */
    void *ctx;             /* for visit */
} deps_ctx_t;

static void
dep_ref(sl_ref_kind_t kind, const char *name, void *p)
{
    deps_ctx_t *d = p;
    if (kind != SL_REF_NAME || sl_flow_is_map_var(d->node, name))
        return;
    ptrdiff_t i = sl_flow_index(d->flow, name);
    if (i >= 0)
        d->visit((size_t)i, d->ctx);
}

void
sl_flow_deps(const sl_flow_t *flow, size_t node, sl_flow_dep_fn visit,
             void *ctx)
{
    const sl_node_t *n = &flow->nodes[node];
    deps_ctx_t d = {flow, n, visit, ctx};
    walk_refs(n->args, dep_ref, &d);
    if (n->inputs)
        walk_refs(n->inputs, dep_ref, &d);
    for (size_t i = 0; i < n->map_count; i++)
        walk_refs(n->map_sources[i], dep_ref, &d);
}

sl_value_t *
sl_flow_instantiate(const sl_value_t *tmpl, sl_flow_resolve_fn resolve,
                    void *ctx)
{
    const char *name;
    sl_ref_kind_t kind = sl_flow_ref(tmpl, &name);
    if (kind != SL_REF_NONE)
        return resolve(kind, name, ctx);
    sl_type_t type = sl_value_type(tmpl);
    if (type == SL_STRING) {
        size_t size;
        const char *s = sl_value_get_string(tmpl, &size);
        bool is_escaped = size >= 2 && s[0] == '$' && s[1] == '$';
        return sl_value_new_string_len(s + is_escaped, size - is_escaped);
    }
    if (type != SL_LIST && type != SL_MAP)
        return sl_value_copy(tmpl);
    sl_value_t *out =
        type == SL_LIST ? sl_value_new_list() : sl_value_new_map();
    for (size_t i = 0; out && i < sl_value_count(tmpl); i++) {
        sl_value_t *item =
            sl_flow_instantiate(sl_value_at(tmpl, i), resolve, ctx);
        int rc = !item ? SL_ENOMEM
                 : type == SL_LIST
                     ? sl_value_push(out, &item)
                     : sl_value_put(out, sl_value_key_at(tmpl, i), &item);
        if (rc < 0)
            sl_value_destroy(&out);
    }
    return out;
}
