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

/* The core schema's patterns (YAML 1.2.2, 10.3.2), whole text only. */
static bool
is_null_text(const char *s)
{
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

/* 1 true, 0 false, -1 neither. */
static int
bool_of(const char *s)
{
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return 1;
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return 0;
    return -1;
}

#define DIGITS "0123456789"

/* The base of an int: [-+]?[0-9]+ is 10, 0o[0-7]+ 8, 0x[0-9a-fA-F]+ 16;
 * 0 if s is none of them. */
static int
int_base(const char *s)
{
    size_t sign = (s[0] == '-' || s[0] == '+');
    size_t n = strspn(s + sign, DIGITS);
    if (n > 0 && !s[sign + n])
        return 10;
    if (s[0] == '0' && s[1] == 'o' && s[2] && !s[2 + strspn(s + 2, "01234567")])
        return 8;
    if (s[0] == '0' && s[1] == 'x' && s[2] &&
        !s[2 + strspn(s + 2, DIGITS "abcdefABCDEF")])
        return 16;
    return 0;
}

/* An int's text (int_base not 0) as its value; false if it is out of
 * the 64-bit range. */
static bool
int_value(const char *s, long long *out)
{
    int base = int_base(s);
    errno = 0;
    *out = strtoll(base == 10 ? s : s + 2, NULL, base);
    return errno != ERANGE;
}

/* [-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static bool
is_float_text(const char *s)
{
    size_t i = (s[0] == '-' || s[0] == '+');
    size_t whole = strspn(s + i, DIGITS), part = 0;
    i += whole;
    if (s[i] == '.') {
        part = strspn(s + i + 1, DIGITS);
        i += 1 + part;
    }
    if (whole == 0 && part == 0)
        return false;
    if (s[i] == 'e' || s[i] == 'E') {
        i += 1 + (s[i + 1] == '-' || s[i + 1] == '+');
        size_t exp = strspn(s + i, DIGITS);
        if (exp == 0)
            return false;
        i += exp;
    }
    return !s[i];
}

/* ±.inf and .nan in their three spellings; 0 if s is neither. */
static double
special_float(const char *s, bool *is_special)
{
    const char *body = s + (s[0] == '-' || s[0] == '+');
    *is_special = true;
    if (!strcmp(body, ".inf") || !strcmp(body, ".Inf") || !strcmp(body, ".INF"))
        return s[0] == '-' ? -INFINITY : INFINITY;
    if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN"))
        return NAN;
    *is_special = false;
    return 0;
}

static bool
is_float_or_special(const char *s)
{
    bool is_special;
    special_float(s, &is_special);
    return is_special || is_float_text(s);
}

/* Whether the plain scalar n carries a tag of its own. */
static bool
is_tagged(const parse_t *p, const yaml_node_t *n)
{
    if (!p->tagged)
        return false;
    size_t at = n->start_mark.index, lo = 0, hi = p->tagged->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->tagged->starts[mid] < at)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->tagged->count && p->tagged->starts[lo] == at;
}

#define CORE_TAG "tag:yaml.org,2002:"

/* A tag as written: !!int for the core schema's, else whole. */
static const char *
tag_shown(const yaml_char_t *tag, char *buf, size_t size)
{
    const char *t = (const char *)tag;
    if (!strncmp(t, CORE_TAG, strlen(CORE_TAG)))
        snprintf(buf, size, "!!%s", t + strlen(CORE_TAG));
    else
        snprintf(buf, size, "%s", t);
    return buf;
}

int
sl_yaml_type(parse_t *p, const yaml_node_t *n, sl_yaml_type_t *out)
{
    static const struct {
        const char *tag;
        sl_yaml_type_t type;
        const char *what;
    } tags[] = {
        {CORE_TAG "str", SL_YAML_STR, "a string"},
        {CORE_TAG "null", SL_YAML_NULL, "null, Null, NULL, ~ or nothing"},
        {CORE_TAG "bool", SL_YAML_BOOL, "true or false"},
        {CORE_TAG "int", SL_YAML_INT, "an integer (10, 0o12 or 0xA)"},
        {CORE_TAG "float", SL_YAML_FLOAT, "a number, .inf or .nan"},
    };
    const char *s = sl_yaml_scalar(n);
    const char *tag = (const char *)n->tag;
    char shown[128];
    if (sl_yaml_is_plain(n) && !is_tagged(p, n)) {
        *out = is_null_text(s)          ? SL_YAML_NULL
               : bool_of(s) >= 0        ? SL_YAML_BOOL
               : int_base(s)            ? SL_YAML_INT
               : is_float_or_special(s) ? SL_YAML_FLOAT
                                        : SL_YAML_STR;
        return 0;
    }
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        if (strcmp(tag, tags[i].tag) != 0)
            continue;
        sl_yaml_type_t t = tags[i].type;
        bool fits = t == SL_YAML_STR ||
                    (t == SL_YAML_NULL && is_null_text(s)) ||
                    (t == SL_YAML_BOOL && bool_of(s) >= 0) ||
                    (t == SL_YAML_INT && int_base(s)) ||
                    (t == SL_YAML_FLOAT && is_float_or_special(s));
        if (!fits)
            return sl_yaml_fail(p, n, "'%s' is not %s, as %s asks", s,
                                tags[i].what,
                                tag_shown(n->tag, shown, sizeof shown));
        *out = t;
        return 0;
    }
    return sl_yaml_fail(p, n,
                        "tag %s is not read here: flow files are YAML 1.2's "
                        "core schema (!!str, !!int, !!float, !!bool, !!null, "
                        "!!seq, !!map)",
                        tag_shown(n->tag, shown, sizeof shown));
}

static sl_value_t *
scalar_value(parse_t *p, const yaml_node_t *n)
{
    const char *s = sl_yaml_scalar(n);
    sl_yaml_type_t type;
    if (sl_yaml_type(p, n, &type) < 0)
        return NULL;
    switch (type) {
    case SL_YAML_NULL: return sl_value_new_null();
    case SL_YAML_BOOL: return sl_value_new_bool(bool_of(s) == 1);
    case SL_YAML_INT: {
        long long i;
        if (!int_value(s, &i)) {
            sl_yaml_fail(p, n, "integer %s is out of the 64-bit range", s);
            return NULL;
        }
        return sl_value_new_int(i);
    }
    case SL_YAML_FLOAT: {
        bool is_special;
        double d = special_float(s, &is_special);
        return sl_value_new_double(is_special ? d : strtod(s, NULL));
    }
    case SL_YAML_STR: break;
    }
    return sl_value_new_string_len(s, n->data.scalar.length);
}

static int
container_value(parse_t *p, const yaml_node_t *n, size_t depth,
                sl_value_t **out)
{
    bool is_map = n->type == YAML_MAPPING_NODE;
    const char *want = is_map ? YAML_MAP_TAG : YAML_SEQ_TAG;
    char shown[128];
    if (strcmp((const char *)n->tag, want) != 0)
        return sl_yaml_fail(p, n,
                            "tag %s is not read here: flow files are YAML "
                            "1.2's core schema (!!str, !!int, !!float, !!bool, "
                            "!!null, !!seq, !!map)",
                            tag_shown(n->tag, shown, sizeof shown));
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
        sl_yaml_type_t type;
        if (!sl_yaml_scalar(k))
            return sl_yaml_fail(p, k, "map keys must be strings");
        if (sl_yaml_type(p, k, &type) < 0) /* a key is its text; its tag */
            return SL_EINVAL;              /* must still be one we read */
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
    sl_yaml_type_t type;
    if (n->type == YAML_SCALAR_NODE) {
        if (sl_yaml_type(p, n, &type) < 0)
            return SL_EINVAL;
        if (type == SL_YAML_BOOL) {
            *out = bool_of(sl_yaml_scalar(n)) == 1;
            return 0;
        }
    }
    return sl_yaml_fail(p, n, "%s must be true or false", what);
}

int
sl_yaml_want_int(parse_t *p, const yaml_node_t *n, const char *what,
                 long long min, long long max, long long *out)
{
    sl_yaml_type_t type;
    if (n->type == YAML_SCALAR_NODE) {
        if (sl_yaml_type(p, n, &type) < 0)
            return SL_EINVAL;
        if (type == SL_YAML_INT && int_value(sl_yaml_scalar(n), out) &&
            *out >= min && *out <= max)
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
        sl_yaml_type_t type;
        if (!sl_yaml_scalar(ka))
            return sl_yaml_fail(p, ka, "%s: keys must be strings", what);
        if (sl_yaml_type(p, ka, &type) < 0)
            return SL_EINVAL;
        for (yaml_node_pair_t *b = n->data.mapping.pairs.start; b < a; b++)
            if (!strcmp(sl_yaml_scalar(sl_yaml_node(p, b->key)),
                        sl_yaml_scalar(ka)))
                return sl_yaml_fail(p, ka, "%s: key '%s' appears twice", what,
                                    sl_yaml_scalar(ka));
    }
    return 0;
}

static int
note_tagged(sl_yaml_tagged_t *tagged, size_t at)
{
    if (tagged->count == tagged->cap) {
        size_t cap = tagged->cap ? tagged->cap * 2 : 16;
        size_t *starts = realloc(tagged->starts, cap * sizeof *starts);
        if (!starts)
            return SL_ENOMEM;
        tagged->starts = starts;
        tagged->cap = cap;
    }
    tagged->starts[tagged->count++] = at;
    return 0;
}

/* Walks libyaml's event stream and stops at the first collection nested
 * deeper than NESTING_MAX: libyaml's loader (and its scanner, which looks
 * at every open flow level for each token) costs the square of the depth,
 * and 100,000 levels took 17 s to refuse. On the way, notes the plain
 * scalars that carry a tag. Linear in the text up to the limit. */
int
sl_yaml_prescan(const char *text, size_t size, const char *file,
                sl_yaml_tagged_t *tagged, sl_error_t *err)
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
        bool is_tagged_plain =
            type == YAML_SCALAR_EVENT && event.data.scalar.tag &&
            event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
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
        if (is_tagged_plain && note_tagged(tagged, at.index) < 0) {
            rc = sl_error_set(err, SL_ENOMEM, "out of memory");
            break;
        }
        if (type == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&parser);
    return rc;
}

void
sl_yaml_tagged_free(sl_yaml_tagged_t *tagged)
{
    free(tagged->starts);
    *tagged = (sl_yaml_tagged_t){0};
}
