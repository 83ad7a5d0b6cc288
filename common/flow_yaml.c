/* common/flow_yaml.c: flow files (YAML, so JSON too) into sl_flow_t, through
 * libyaml's document loader. Pure; any thread. Bounds the file size, value
 * depth and the nodes visited (so aliases cannot multiply a small file), and
 * names file, line and column in every error. Validation follows parsing,
 * so a file that returns a flow is a flow the broker will accept. */
#include "flow.h"

#include "caps.h"
#include "duration.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define VISIT_BUDGET (4u * SL_VALUE_MAX_NODES)
/* Collections a file may open inside each other: a value's depth and the
 * few levels of the flow around it (root, tasks, node, args). */
#define NESTING_MAX (SL_VALUE_MAX_DEPTH + 8)

typedef struct {
    yaml_document_t *doc;  /* the loaded document */
    sl_flow_t *flow;       /* being filled */
    sl_error_t *err;       /* the first error */
    size_t visits_left;    /* nodes that may still be visited */
} parse_t;

static sl_pos_t
pos_of(const yaml_node_t *n)
{
    return (sl_pos_t){(uint32_t)n->start_mark.line + 1,
                      (uint32_t)n->start_mark.column + 1};
}

static int
fail(parse_t *p, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(parse_t *p, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[400], where[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sl_error_set(p->err, SL_EINVAL, "%s: %s",
                        sl_flow_where(p->flow, pos_of(n), where, sizeof where),
                        msg);
}

static yaml_node_t *
node_at(parse_t *p, int index)
{
    return yaml_document_get_node(p->doc, index);
}

static const char *
scalar(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value
                                       : NULL;
}

static bool
is_plain(const yaml_node_t *n)
{
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
           n->data.scalar.style == YAML_ANY_SCALAR_STYLE;
}

static bool
matches_int(const char *s)
{
    size_t i = (s[0] == '-' || s[0] == '+');
    if (!s[i])
        return false;
    for (; s[i]; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool
matches_float(const char *s)
{
    char *end;
    if (!*s || strchr("+-.0123456789", s[0]) == NULL)
        return false;
    errno = 0;
    strtod(s, &end);
    return *end == '\0' && !strpbrk(s, "xXnNiI");
}

static sl_value_t *
scalar_value(parse_t *p, const yaml_node_t *n)
{
    const char *s = scalar(n);
    size_t size = n->data.scalar.length;
    if (!is_plain(n))
        return sl_value_new_string_len(s, size);
    if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null"))
        return sl_value_new_null();
    if (!strcmp(s, "true") || !strcmp(s, "True"))
        return sl_value_new_bool(true);
    if (!strcmp(s, "false") || !strcmp(s, "False"))
        return sl_value_new_bool(false);
    if (matches_int(s)) {
        errno = 0;
        long long i = strtoll(s, NULL, 10);
        if (errno == ERANGE) {
            fail(p, n, "integer %s is out of the 64-bit range", s);
            return NULL;
        }
        return sl_value_new_int(i);
    }
    if (!strcmp(s, ".inf") || !strcmp(s, "+.inf"))
        return sl_value_new_double(INFINITY);
    if (!strcmp(s, "-.inf"))
        return sl_value_new_double(-INFINITY);
    if (!strcmp(s, ".nan"))
        return sl_value_new_double(NAN);
    if (matches_float(s))
        return sl_value_new_double(strtod(s, NULL));
    return sl_value_new_string_len(s, size);
}

static int to_value(parse_t *p, const yaml_node_t *n, size_t depth,
                    sl_value_t **out);

static int
container_value(parse_t *p, const yaml_node_t *n, size_t depth,
                sl_value_t **out)
{
    bool is_map = n->type == YAML_MAPPING_NODE;
    *out = is_map ? sl_value_new_map() : sl_value_new_list();
    if (!*out)
        return sl_error_set(p->err, SL_ENOMEM, "out of memory");
    if (!is_map) {
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             it < n->data.sequence.items.top; it++) {
            sl_value_t *item = NULL;
            int rc = to_value(p, node_at(p, *it), depth + 1, &item);
            if (rc == 0 && (rc = sl_value_push(*out, &item)) < 0)
                sl_error_set(p->err, rc, "out of memory");
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
         pr < n->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = node_at(p, pr->key);
        if (!scalar(k))
            return fail(p, k, "map keys must be strings");
        if (sl_value_lookup(*out, scalar(k)))
            return fail(p, k, "key '%s' appears twice", scalar(k));
        sl_value_t *item = NULL;
        int rc = to_value(p, node_at(p, pr->value), depth + 1, &item);
        if (rc == 0 && (rc = sl_value_put(*out, scalar(k), &item)) < 0)
            sl_error_set(p->err, rc, "out of memory");
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
to_value(parse_t *p, const yaml_node_t *n, size_t depth, sl_value_t **out)
{
    *out = NULL;
    if (depth > SL_VALUE_MAX_DEPTH)
        return fail(p, n, "value nests deeper than %d", SL_VALUE_MAX_DEPTH);
    if (p->visits_left-- == 0)
        return fail(p, n, "file expands to more than %u values (aliases?)",
                    VISIT_BUDGET);
    if (n->type != YAML_SCALAR_NODE) {
        int rc = container_value(p, n, depth, out);
        if (rc < 0)
            sl_value_destroy(out);
        return rc;
    }
    *out = scalar_value(p, n);
    if (!*out && p->err && p->err->code == 0)
        return sl_error_set(p->err, SL_ENOMEM, "out of memory");
    return *out ? 0 : SL_EINVAL;
}

static int
want_string(parse_t *p, const yaml_node_t *n, const char *what,
            const char **out)
{
    *out = scalar(n);
    if (!*out || (is_plain(n) && !**out))
        return fail(p, n, "%s must be a string", what);
    return 0;
}

static int
want_bool(parse_t *p, const yaml_node_t *n, const char *what, bool *out)
{
    const char *s = scalar(n);
    if (s && is_plain(n) && (!strcmp(s, "true") || !strcmp(s, "false"))) {
        *out = s[0] == 't';
        return 0;
    }
    return fail(p, n, "%s must be true or false", what);
}

static int
want_int(parse_t *p, const yaml_node_t *n, const char *what, long long min,
         long long max, long long *out)
{
    const char *s = scalar(n);
    if (s && is_plain(n) && matches_int(s)) {
        errno = 0;
        *out = strtoll(s, NULL, 10);
        if (errno == 0 && *out >= min && *out <= max)
            return 0;
    }
    return fail(p, n, "%s must be an integer from %lld to %lld", what, min,
                max);
}

/* A duration; is_ttl: "forever" allowed and zero refused. */
static int
want_duration(parse_t *p, const yaml_node_t *n, const char *what, bool is_ttl,
              int64_t *ms)
{
    const char *s = scalar(n);
    if (!s || sl_duration_parse(s, ms) < 0)
        return fail(p, n, "%s must be a duration like 500ms, 30s, 10m, 1h or "
                    "7d%s", what, is_ttl ? ", or forever" : "");
    if (is_ttl && *ms == 0)
        return fail(p, n, "%s of 0 is refused: give a positive duration or "
                    "forever", what);
    if (!is_ttl && *ms == SL_DURATION_FOREVER)
        return fail(p, n, "%s cannot be forever", what);
    return 0;
}

/* A mapping whose keys are all strings and all different (YAML demands
 * it; libyaml does not check). For the small mappings of the format. */
static int
want_mapping(parse_t *p, const yaml_node_t *n, const char *what)
{
    if (n->type != YAML_MAPPING_NODE)
        return fail(p, n, "%s must be a mapping", what);
    for (yaml_node_pair_t *a = n->data.mapping.pairs.start;
         a < n->data.mapping.pairs.top; a++) {
        const yaml_node_t *ka = node_at(p, a->key);
        if (!scalar(ka))
            return fail(p, ka, "%s: keys must be strings", what);
        for (yaml_node_pair_t *b = n->data.mapping.pairs.start; b < a; b++)
            if (!strcmp(scalar(node_at(p, b->key)), scalar(ka)))
                return fail(p, ka, "%s: key '%s' appears twice", what,
                            scalar(ka));
    }
    return 0;
}

static int
parse_map(parse_t *p, const char *name, const yaml_node_t *n)
{
    if (want_mapping(p, n, "map") < 0)
        return SL_EINVAL;
    if (n->data.mapping.pairs.top == n->data.mapping.pairs.start)
        return fail(p, n, "node '%s': map is empty", name);
    sl_flow_last(p->flow)->map_pos = pos_of(n);
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
         pr < n->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = node_at(p, pr->key);
        const yaml_node_t *v = node_at(p, pr->value);
        const char *var;
        sl_value_t *source = NULL;
        if (want_string(p, k, "a map variable", &var) < 0)
            return SL_EINVAL;
        if (v->type == YAML_MAPPING_NODE ||
            (v->type == YAML_SCALAR_NODE && (scalar(v)[0] != '$' ||
                                             !is_plain(v))))
            return fail(p, v, "node '%s': map variable '%s' must be a list or "
                        "a reference like $node", name, var);
        int rc = to_value(p, v, 1, &source);
        if (rc == 0 && (rc = sl_flow_add_map(p->flow, name, var, &source,
                                             p->err)) < 0)
            sl_error_prefix(p->err, "%s:%u:%u", p->flow->file, pos_of(v).line,
                            pos_of(v).column);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
parse_cache_mode(parse_t *p, const yaml_node_t *v, sl_node_options_t *o)
{
    const char *s = scalar(v);
    if (s && !strcmp(s, "inputs"))
        o->cache = SL_CACHE_INPUTS;
    else if (s && !strcmp(s, "key"))
        o->cache = SL_CACHE_KEY;
    else if (s && !strcmp(s, "none"))
        o->cache = SL_CACHE_NONE;
    else
        return fail(p, v, "cache must be inputs, key or none");
    return 0;
}

/* One option of a node; *is_known is false for a key that is no option. */
static int
parse_option(parse_t *p, const char *key, const yaml_node_t *v,
             sl_node_options_t *o, bool *has_mode)
{
    long long i = 0;
    int64_t ms = 0;
    int rc = 0;
    if (!strcmp(key, "cache")) {
        rc = parse_cache_mode(p, v, o);
        *has_mode = true;
    } else if (!strcmp(key, "cache_key")) {
        rc = want_string(p, v, "cache_key", &o->cache_key);
    } else if (!strcmp(key, "ttl")) {
        rc = want_duration(p, v, "ttl", true, &o->ttl_ms);
    } else if (!strcmp(key, "refresh")) {
        rc = want_bool(p, v, "refresh", &o->refresh);
    } else if (!strcmp(key, "validate")) {
        const char *s = scalar(v);
        if (!s || strcmp(s, "inputs") != 0)
            return fail(p, v, "validate must be 'inputs'");
        o->validate_inputs = true;
    } else if (!strcmp(key, "retries")) {
        if ((rc = want_int(p, v, "retries", 0, 100, &i)) == 0)
            o->retries = (uint32_t)i;
    } else if (!strcmp(key, "retry_delay")) {
        if ((rc = want_duration(p, v, "retry_delay", false, &ms)) == 0)
            o->retry_delay_ms = (uint64_t)ms;
    } else if (!strcmp(key, "timeout")) {
        if ((rc = want_duration(p, v, "timeout", false, &ms)) == 0 && ms == 0)
            rc = fail(p, v, "timeout of 0 is refused: leave it out for none");
        o->timeout_ms = (uint64_t)ms;
    } else if (!strcmp(key, "priority")) {
        if ((rc = want_int(p, v, "priority", -1000000, 1000000, &i)) == 0)
            o->priority = (int32_t)i;
    } else {
        return 1;
    }
    return rc;
}

static int
parse_node(parse_t *p, const yaml_node_t *kn, const yaml_node_t *body)
{
    const char *name, *run = NULL;
    const yaml_node_t *args = NULL, *map = NULL;
    sl_node_options_t o = sl_node_options_default();
    bool has_mode = false;
    char what[SL_NAME_MAX_BYTES + 16];
    if (want_string(p, kn, "a task name", &name) < 0)
        return SL_EINVAL;
    snprintf(what, sizeof what, "task '%.*s'", SL_NAME_MAX_BYTES, name);
    if (want_mapping(p, body, what) < 0)
        return SL_EINVAL;
    for (yaml_node_pair_t *pr = body->data.mapping.pairs.start;
         pr < body->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = node_at(p, pr->key);
        const yaml_node_t *v = node_at(p, pr->value);
        const char *key = scalar(k);
        int rc = 0;
        if (!key)
            return fail(p, k, "task '%s': keys must be strings", name);
        if (!strcmp(key, "run"))
            rc = want_string(p, v, "run", &run);
        else if (!strcmp(key, "args"))
            args = v;
        else if (!strcmp(key, "map"))
            map = v;
        else if (strcmp(key, "description") != 0 &&
                 (rc = parse_option(p, key, v, &o, &has_mode)) == 1)
            return fail(p, k, "task '%s': unknown key '%s' (known: run, args, "
                        "map, cache, cache_key, ttl, refresh, validate, "
                        "retries, retry_delay, timeout, priority, "
                        "description)", name, key);
        if (rc < 0)
            return rc;
    }
    if (!run)
        return fail(p, body, "task '%s' has no 'run' (the task to call)",
                    name);
    if (o.cache_key && !has_mode)
        o.cache = SL_CACHE_KEY;
    if (args && args->type != YAML_SEQUENCE_NODE)
        return fail(p, args, "task '%s': args must be a list", name);
    sl_value_t *argv = NULL;
    int rc = args ? to_value(p, args, 1, &argv) : 0;
    if (rc == 0 && (rc = sl_flow_add(p->flow, name, run, &argv, p->err)) < 0) {
        sl_error_prefix(p->err, "%s:%u:%u", p->flow->file, pos_of(kn).line,
                        pos_of(kn).column);
        return rc;
    }
    if (rc < 0)
        return rc;
    sl_node_t *node = sl_flow_last(p->flow);
    node->pos = pos_of(kn);
    node->args_pos = args ? pos_of(args) : node->pos;
    if (map && (rc = parse_map(p, name, map)) < 0)
        return rc;
    return sl_flow_set_options(p->flow, name, &o, p->err);
}

static int
parse_cache(parse_t *p, const yaml_node_t *n)
{
    const char *url = NULL, *ns = NULL;
    int64_t ttl_ms = SL_DEFAULT_TTL_MS;
    if (want_mapping(p, n, "cache") < 0)
        return SL_EINVAL;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
         pr < n->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = node_at(p, pr->key);
        const yaml_node_t *v = node_at(p, pr->value);
        const char *key = scalar(k) ? scalar(k) : "";
        int rc;
        if (!strcmp(key, "url"))
            rc = want_string(p, v, "cache url", &url);
        else if (!strcmp(key, "namespace"))
            rc = want_string(p, v, "cache namespace", &ns);
        else if (!strcmp(key, "ttl"))
            rc = want_duration(p, v, "cache ttl", true, &ttl_ms);
        else
            rc = fail(p, k, "cache: unknown key '%s' (known: url, namespace, "
                      "ttl)", key);
        if (rc < 0)
            return rc;
    }
    if (url && strncmp(url, "redis://", 8) && strncmp(url, "lmdb://", 7))
        return fail(p, n, "cache url '%s' must start with redis:// or lmdb://",
                    url);
    int rc = sl_flow_set_cache(p->flow, url, ns, ttl_ms, p->err);
    if (rc < 0)
        sl_error_prefix(p->err, "%s:%u:%u", p->flow->file, pos_of(n).line,
                        pos_of(n).column);
    return rc;
}

static int
parse_params(parse_t *p, const yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE) /* names checked one by one below */
        return fail(p, n, "params must be a mapping");
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
         pr < n->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = node_at(p, pr->key);
        const char *name;
        sl_value_t *v = NULL;
        if (want_string(p, k, "a parameter name", &name) < 0)
            return SL_EINVAL;
        if (sl_value_lookup(p->flow->params, name))
            return fail(p, k, "parameter '%s' is declared twice", name);
        int rc = to_value(p, node_at(p, pr->value), 1, &v);
        if (rc == 0 && (rc = sl_flow_set_param(p->flow, name, &v, p->err)) < 0)
            sl_error_prefix(p->err, "%s:%u:%u", p->flow->file, pos_of(k).line,
                            pos_of(k).column);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
parse_tasks(parse_t *p, const yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE) /* names checked by sl_flow_add */
        return fail(p, n, "tasks must be a mapping");
    if (n->data.mapping.pairs.top == n->data.mapping.pairs.start)
        return fail(p, n, "tasks is empty");
    if (n->data.mapping.pairs.top - n->data.mapping.pairs.start >
        SL_FLOW_MAX_NODES)
        return fail(p, n, "more than %d tasks", SL_FLOW_MAX_NODES);
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
         pr < n->data.mapping.pairs.top; pr++) {
        int rc = parse_node(p, node_at(p, pr->key), node_at(p, pr->value));
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
parse_root(parse_t *p, const yaml_node_t *root)
{
    const yaml_node_t *tasks = NULL;
    const char *name = NULL;
    if (!root)
        return sl_error_set(p->err, SL_EINVAL, "%s: the file is empty",
                            p->flow->file);
    if (want_mapping(p, root, "a flow file") < 0)
        return SL_EINVAL;
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
         pr < root->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = node_at(p, pr->key);
        const yaml_node_t *v = node_at(p, pr->value);
        const char *key = scalar(k) ? scalar(k) : "";
        int rc = 0;
        if (!strcmp(key, "flow"))
            rc = want_string(p, v, "flow", &name);
        else if (!strcmp(key, "cache"))
            rc = parse_cache(p, v);
        else if (!strcmp(key, "params"))
            rc = parse_params(p, v);
        else if (!strcmp(key, "tasks"))
            tasks = v;
        else if (strcmp(key, "description") != 0)
            rc = fail(p, k, "unknown key '%s' (known: flow, description, "
                      "cache, params, tasks)", key);
        if (rc < 0)
            return rc;
    }
    if (!name)
        return fail(p, root, "the file has no 'flow: NAME'");
    free(p->flow->name);
    if (!(p->flow->name = strdup(name)))
        return sl_error_set(p->err, SL_ENOMEM, "out of memory");
    if (!tasks)
        return fail(p, root, "the file has no 'tasks:'");
    return parse_tasks(p, tasks); /* after params: refs are checked later */
}

/* Walks libyaml's event stream and stops at the first collection nested
 * deeper than NESTING_MAX: libyaml's loader (and its scanner, which looks
 * at every open flow level for each token) costs the square of the depth,
 * and 100,000 levels took 17 s to refuse. 0, SL_EINVAL naming where, or 1
 * if the text is not YAML (the loader then says why). Linear in the text
 * up to the limit. */
static int
check_nesting(const char *text, size_t size, const char *file,
              sl_error_t *err)
{
    yaml_parser_t parser;
    yaml_event_t event;
    int depth = 0, rc = 0;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, size);
    for (;;) {
        if (!yaml_parser_parse(&parser, &event)) {
            rc = 1;
            break;
        }
        yaml_event_type_t type = event.type;
        yaml_mark_t at = event.start_mark;
        yaml_event_delete(&event);
        if (type == YAML_SEQUENCE_START_EVENT ||
            type == YAML_MAPPING_START_EVENT)
            depth++;
        else if (type == YAML_SEQUENCE_END_EVENT ||
                 type == YAML_MAPPING_END_EVENT)
            depth--;
        if (depth > NESTING_MAX) {
            rc = sl_error_set(err, SL_EINVAL, "%s:%zu:%zu: nests deeper "
                              "than %d levels (values: %d)", file,
                              at.line + 1, at.column + 1, NESTING_MAX,
                              SL_VALUE_MAX_DEPTH);
            break;
        }
        if (type == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&parser);
    return rc;
}

sl_flow_t *
sl_flow_parse(const char *text, size_t size, const char *file,
              sl_error_t *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    sl_flow_t *flow = sl_flow_new("");
    if (!flow || sl_flow_set_file(flow, file) < 0) {
        sl_flow_destroy(&flow);
        sl_error_set(err, SL_ENOMEM, "out of memory");
        return NULL;
    }
    if (size > SL_FLOW_MAX_BYTES) {
        sl_error_set(err, SL_ETOOBIG, "%s: %zu bytes, over the cap of %u",
                     file, size, SL_FLOW_MAX_BYTES);
        sl_flow_destroy(&flow);
        return NULL;
    }
    if (check_nesting(text, size, file, err) < 0) {
        sl_flow_destroy(&flow);
        return NULL;
    }
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, size);
    int rc = 0;
    if (!yaml_parser_load(&parser, &doc)) {
        rc = sl_error_set(err, SL_EINVAL, "%s:%zu:%zu: %s%s%s", file,
                          parser.problem_mark.line + 1,
                          parser.problem_mark.column + 1,
                          parser.problem ? parser.problem : "bad YAML",
                          parser.context ? " " : "",
                          parser.context ? parser.context : "");
    } else {
        parse_t p = {&doc, flow, err, VISIT_BUDGET};
        rc = parse_root(&p, yaml_document_get_root_node(&doc));
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    if (rc == 0)
        rc = sl_flow_validate(flow, err);
    if (rc < 0)
        sl_flow_destroy(&flow);
    return flow;
}

sl_flow_t *
sl_flow_load(const char *path, sl_error_t *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        sl_error_set(err, SL_ENOTFOUND, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(SL_FLOW_MAX_BYTES + 1);
    size_t size = text ? fread(text, 1, SL_FLOW_MAX_BYTES + 1, fp) : 0;
    bool is_error = ferror(fp);
    fclose(fp);
    sl_flow_t *flow = NULL;
    if (!text)
        sl_error_set(err, SL_ENOMEM, "out of memory");
    else if (is_error)
        sl_error_set(err, SL_EIO, "%s: read error", path);
    else
        flow = sl_flow_parse(text, size, path, err);
    free(text);
    return flow;
}

int
sl_flow_parse_value(const char *text, sl_value_t **out, sl_error_t *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    sl_flow_t *where = sl_flow_new("");
    int rc = where ? sl_flow_set_file(where, "<value>") : SL_ENOMEM;
    *out = NULL;
    if (rc < 0) {
        sl_flow_destroy(&where);
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    }
    if (check_nesting(text, strlen(text), "<value>", err) < 0) {
        sl_flow_destroy(&where);
        return SL_EINVAL;
    }
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text,
                                 strlen(text));
    if (!yaml_parser_load(&parser, &doc)) {
        rc = sl_error_set(err, SL_EINVAL, "value '%s': %s", text,
                          parser.problem ? parser.problem : "bad YAML");
    } else {
        parse_t p = {&doc, where, err, VISIT_BUDGET};
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        rc = root ? to_value(&p, root, 1, out)
                  : ((*out = sl_value_new_null()) ? 0 : SL_ENOMEM);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    sl_flow_destroy(&where);
    return rc;
}
