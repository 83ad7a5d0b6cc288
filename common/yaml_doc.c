/* common/yaml_doc.c: a YAML document as a flow file holds it: loaded
 * by libyaml within bounds (nesting counted on the event stream first, so
 * a deep file is refused at once; nodes visited capped, so aliases cannot
 * multiply a small file), and its scalars and collections read as sluice
 * values with errors that name line and column. Pure; any thread. With
 * flow_yaml.c, the only code that sees yaml.h. */
#include "yaml_doc.h"

#include "caps.h"
#include "duration.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Collections a file may open inside each other: a value's depth and the
 * few levels of the flow around it (root, tasks, node, args). */
#define NESTING_MAX (SL_VALUE_MAX_DEPTH + 8)

sl_pos_t
sl_yaml_pos(const yaml_node_t *n)
{
    return (sl_pos_t){(uint32_t)n->start_mark.line + 1,
                      (uint32_t)n->start_mark.column + 1};
}

int
sl_yaml_fail(parse_t *p, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[400], where[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sl_error_set(p->err, SL_EINVAL, "%s: %s",
                        sl_flow_where(p->flow, sl_yaml_pos(n), where,
                                      sizeof where),
                        msg);
}

yaml_node_t *
sl_yaml_node(parse_t *p, int index)
{
    return yaml_document_get_node(p->doc, index);
}

const char *
sl_yaml_scalar(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value
                                       : NULL;
}

bool
sl_yaml_is_plain(const yaml_node_t *n)
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
    const char *s = sl_yaml_scalar(n);
    size_t size = n->data.scalar.length;
    if (!sl_yaml_is_plain(n))
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
            sl_yaml_fail(p, n, "integer %s is out of the 64-bit range", s);
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
            int rc = sl_yaml_value(p, sl_yaml_node(p, *it), depth + 1, &item);
            if (rc == 0 && (rc = sl_value_push(*out, &item)) < 0)
                sl_error_set(p->err, rc, "out of memory");
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
         pr < n->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = sl_yaml_node(p, pr->key);
        if (!sl_yaml_scalar(k))
            return sl_yaml_fail(p, k, "map keys must be strings");
        if (sl_value_lookup(*out, sl_yaml_scalar(k)))
            return sl_yaml_fail(p, k, "key '%s' appears twice",
                                sl_yaml_scalar(k));
        sl_value_t *item = NULL;
        int rc = sl_yaml_value(p, sl_yaml_node(p, pr->value), depth + 1, &item);
        if (rc == 0 && (rc = sl_value_put(*out, sl_yaml_scalar(k), &item)) < 0)
            sl_error_set(p->err, rc, "out of memory");
        if (rc < 0)
            return rc;
    }
    return 0;
}

int
sl_yaml_value(parse_t *p, const yaml_node_t *n, size_t depth, sl_value_t **out)
{
    *out = NULL;
    if (depth > SL_VALUE_MAX_DEPTH)
        return sl_yaml_fail(p, n, "value nests deeper than %d",
                            SL_VALUE_MAX_DEPTH);
    if (p->visits_left-- == 0)
        return sl_yaml_fail(p, n,
                            "file expands to more than %u values (aliases?)",
                            SL_YAML_VISIT_BUDGET);
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

int
sl_yaml_want_string(parse_t *p, const yaml_node_t *n, const char *what,
                    const char **out)
{
    *out = sl_yaml_scalar(n);
    if (!*out || (sl_yaml_is_plain(n) && !**out))
        return sl_yaml_fail(p, n, "%s must be a string", what);
    return 0;
}

int
sl_yaml_want_bool(parse_t *p, const yaml_node_t *n, const char *what, bool *out)
{
    const char *s = sl_yaml_scalar(n);
    if (s && sl_yaml_is_plain(n) &&
        (!strcmp(s, "true") || !strcmp(s, "false"))) {
        *out = s[0] == 't';
        return 0;
    }
    return sl_yaml_fail(p, n, "%s must be true or false", what);
}

int
sl_yaml_want_int(parse_t *p, const yaml_node_t *n, const char *what,
                 long long min, long long max, long long *out)
{
    const char *s = sl_yaml_scalar(n);
    if (s && sl_yaml_is_plain(n) && matches_int(s)) {
        errno = 0;
        *out = strtoll(s, NULL, 10);
        if (errno == 0 && *out >= min && *out <= max)
            return 0;
    }
    return sl_yaml_fail(p, n, "%s must be an integer from %lld to %lld", what,
                        min, max);
}

/* A duration; is_ttl: "forever" allowed and zero refused. */
int
sl_yaml_want_duration(parse_t *p, const yaml_node_t *n, const char *what,
                      bool is_ttl, int64_t *ms)
{
    const char *s = sl_yaml_scalar(n);
    if (!s || sl_duration_parse(s, ms) < 0)
        return sl_yaml_fail(p, n,
                            "%s must be a duration like 500ms, 30s, 10m, 1h or "
                            "7d%s",
                            what, is_ttl ? ", or forever" : "");
    if (is_ttl && *ms == 0)
        return sl_yaml_fail(p, n,
                            "%s of 0 is refused: give a positive duration or "
                            "forever",
                            what);
    if (!is_ttl && *ms == SL_DURATION_FOREVER)
        return sl_yaml_fail(p, n, "%s cannot be forever", what);
    return 0;
}

/* A mapping whose keys are all strings and all different (YAML demands
 * it; libyaml does not check). For the small mappings of the format. */
int
sl_yaml_want_mapping(parse_t *p, const yaml_node_t *n, const char *what)
{
    if (n->type != YAML_MAPPING_NODE)
        return sl_yaml_fail(p, n, "%s must be a mapping", what);
    for (yaml_node_pair_t *a = n->data.mapping.pairs.start;
         a < n->data.mapping.pairs.top; a++) {
        const yaml_node_t *ka = sl_yaml_node(p, a->key);
        if (!sl_yaml_scalar(ka))
            return sl_yaml_fail(p, ka, "%s: keys must be strings", what);
        for (yaml_node_pair_t *b = n->data.mapping.pairs.start; b < a; b++)
            if (!strcmp(sl_yaml_scalar(sl_yaml_node(p, b->key)),
                        sl_yaml_scalar(ka)))
                return sl_yaml_fail(p, ka, "%s: key '%s' appears twice", what,
                                    sl_yaml_scalar(ka));
    }
    return 0;
}

/* Walks libyaml's event stream and stops at the first collection nested
 * deeper than NESTING_MAX: libyaml's loader (and its scanner, which looks
 * at every open flow level for each token) costs the square of the depth,
 * and 100,000 levels took 17 s to refuse. 0, SL_EINVAL naming where, or 1
 * if the text is not YAML (the loader then says why). Linear in the text
 * up to the limit. */
int
sl_yaml_check_nesting(const char *text, size_t size, const char *file,
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
            rc = sl_error_set(err, SL_EINVAL,
                              "%s:%zu:%zu: nests deeper than %d levels "
                              "(values: %d)",
                              file, at.line + 1, at.column + 1, NESTING_MAX,
                              SL_VALUE_MAX_DEPTH);
            break;
        }
        if (type == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&parser);
    return rc;
}
