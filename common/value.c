/* common/value.c: the value model. A value belongs to one thread; values
 * cross threads only encoded (wire.c). Never recurses deeper than the value
 * itself, whose depth the edges cap (SL_VALUE_MAX_DEPTH). */
#include "value.h"

#include "buf.h"
#include "error.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct sl_value {
    sl_type_t type; /* which member of u is live */
    union {
        bool b;
        int64_t i;
        double d;
        struct {
            char *data;  /* NUL-terminated copy */
            size_t size; /* bytes, without the NUL */
        } str;           /* STRING and BYTES */
        struct {
            sl_value_t **items; /* count children, owned */
            char **keys;        /* MAP only: count keys, owned */
            size_t count;       /* children in use */
            size_t cap;         /* children allocated */
        } seq;                  /* LIST and MAP */
    } u;
};

static sl_value_t *
alloc_value(sl_type_t type)
{
    sl_value_t *v = calloc(1, sizeof *v);
    if (v)
        v->type = type;
    return v;
}

sl_value_t *
sl_value_new_null(void)
{
    return alloc_value(SL_NULL);
}

sl_value_t *
sl_value_new_bool(bool b)
{
    sl_value_t *v = alloc_value(SL_BOOL);
    if (v)
        v->u.b = b;
    return v;
}

sl_value_t *
sl_value_new_int(int64_t i)
{
    sl_value_t *v = alloc_value(SL_INT);
    if (v)
        v->u.i = i;
    return v;
}

sl_value_t *
sl_value_new_double(double d)
{
    sl_value_t *v = alloc_value(SL_DOUBLE);
    if (v)
        v->u.d = d;
    return v;
}

static sl_value_t *
new_str(sl_type_t type, const void *data, size_t size)
{
    sl_value_t *v = alloc_value(type);
    if (!v)
        return NULL;
    v->u.str.data = malloc(size + 1);
    if (!v->u.str.data) {
        free(v);
        return NULL;
    }
    if (size)
        memcpy(v->u.str.data, data, size);
    v->u.str.data[size] = '\0';
    v->u.str.size = size;
    return v;
}

sl_value_t *
sl_value_new_string(const char *s)
{
    return new_str(SL_STRING, s, strlen(s));
}

sl_value_t *
sl_value_new_string_len(const char *s, size_t size)
{
    return new_str(SL_STRING, s, size);
}

sl_value_t *
sl_value_new_bytes(const void *data, size_t size)
{
    return new_str(SL_BYTES, data, size);
}

sl_value_t *
sl_value_new_list(void)
{
    return alloc_value(SL_LIST);
}

sl_value_t *
sl_value_new_map(void)
{
    return alloc_value(SL_MAP);
}

void
sl_value_destroy(sl_value_t **p)
{
    if (!p || !*p)
        return;
    sl_value_t *v = *p;
    *p = NULL;
    switch (v->type) {
    case SL_STRING:
    case SL_BYTES: free(v->u.str.data); break;
    case SL_LIST:
    case SL_MAP:
        for (size_t i = 0; i < v->u.seq.count; i++) {
            sl_value_destroy(&v->u.seq.items[i]);
            if (v->u.seq.keys)
                free(v->u.seq.keys[i]);
        }
        free(v->u.seq.items);
        free(v->u.seq.keys);
        break;
    default: break;
    }
    free(v);
}

static int
grow(sl_value_t *v)
{
    if (v->u.seq.count < v->u.seq.cap)
        return 0;
    size_t cap = v->u.seq.cap ? v->u.seq.cap * 2 : 4;
    sl_value_t **items = realloc(v->u.seq.items, cap * sizeof *items);
    if (!items)
        return SL_ENOMEM;
    v->u.seq.items = items;
    if (v->type == SL_MAP) {
        char **keys = realloc(v->u.seq.keys, cap * sizeof *keys);
        if (!keys)
            return SL_ENOMEM;
        v->u.seq.keys = keys;
    }
    v->u.seq.cap = cap;
    return 0;
}

int
sl_value_push(sl_value_t *list, sl_value_t **item)
{
    int rc = SL_EINVAL;
    if (!list || list->type != SL_LIST || !item || !*item)
        goto out;
    rc = grow(list);
    if (rc < 0)
        goto out;
    list->u.seq.items[list->u.seq.count++] = *item;
    *item = NULL;
out:
    if (item)
        sl_value_destroy(item);
    return rc;
}

static ptrdiff_t
find_key(const sl_value_t *map, const char *key)
{
    for (size_t i = 0; i < map->u.seq.count; i++)
        if (strcmp(map->u.seq.keys[i], key) == 0)
            return (ptrdiff_t)i;
    return -1;
}

int
sl_value_put(sl_value_t *map, const char *key, sl_value_t **item)
{
    int rc = SL_EINVAL;
    if (!map || map->type != SL_MAP || !key || !item || !*item)
        goto out;
    ptrdiff_t at = find_key(map, key);
    if (at >= 0) {
        sl_value_destroy(&map->u.seq.items[at]);
        map->u.seq.items[at] = *item;
        *item = NULL;
        return 0;
    }
    rc = grow(map);
    if (rc < 0)
        goto out;
    char *k = strdup(key);
    if (!k) {
        rc = SL_ENOMEM;
        goto out;
    }
    map->u.seq.keys[map->u.seq.count] = k;
    map->u.seq.items[map->u.seq.count++] = *item;
    *item = NULL;
    rc = 0;
out:
    if (item)
        sl_value_destroy(item);
    return rc;
}

sl_value_t *
sl_value_copy(const sl_value_t *v)
{
    if (!v)
        return NULL;
    switch (v->type) {
    case SL_NULL: return sl_value_new_null();
    case SL_BOOL: return sl_value_new_bool(v->u.b);
    case SL_INT: return sl_value_new_int(v->u.i);
    case SL_DOUBLE: return sl_value_new_double(v->u.d);
    case SL_STRING:
    case SL_BYTES: return new_str(v->type, v->u.str.data, v->u.str.size);
    case SL_LIST:
    case SL_MAP: break;
    }
    sl_value_t *c = alloc_value(v->type);
    for (size_t i = 0; c && i < v->u.seq.count; i++) {
        sl_value_t *item = sl_value_copy(v->u.seq.items[i]);
        int rc = item ? 0 : SL_ENOMEM;
        if (rc == 0)
            rc = v->type == SL_MAP ? sl_value_put(c, v->u.seq.keys[i], &item)
                                   : sl_value_push(c, &item);
        if (rc < 0)
            sl_value_destroy(&c);
    }
    return c;
}

bool
sl_value_equal(const sl_value_t *a, const sl_value_t *b)
{
    if (!a || !b || a->type != b->type)
        return a == b;
    switch (a->type) {
    case SL_NULL: return true;
    case SL_BOOL: return a->u.b == b->u.b;
    case SL_INT: return a->u.i == b->u.i;
    case SL_DOUBLE: return a->u.d == b->u.d || (isnan(a->u.d) && isnan(b->u.d));
    case SL_STRING:
    case SL_BYTES:
        return a->u.str.size == b->u.str.size &&
               memcmp(a->u.str.data, b->u.str.data, a->u.str.size) == 0;
    case SL_LIST:
    case SL_MAP: break;
    }
    if (a->u.seq.count != b->u.seq.count)
        return false;
    for (size_t i = 0; i < a->u.seq.count; i++) {
        const sl_value_t *other = a->type == SL_MAP
                                      ? sl_value_lookup(b, a->u.seq.keys[i])
                                      : b->u.seq.items[i];
        if (!sl_value_equal(a->u.seq.items[i], other))
            return false;
    }
    return true;
}

sl_type_t
sl_value_type(const sl_value_t *v)
{
    return v ? v->type : SL_NULL;
}

const char *
sl_type_name(sl_type_t type)
{
    static const char *names[] = {"null",   "bool",  "int",  "double",
                                  "string", "bytes", "list", "map"};
    return (unsigned)type < 8 ? names[type] : "?";
}

bool
sl_value_get_bool(const sl_value_t *v)
{
    return v && v->type == SL_BOOL && v->u.b;
}

int64_t
sl_value_get_int(const sl_value_t *v)
{
    return v && v->type == SL_INT ? v->u.i : 0;
}

double
sl_value_get_double(const sl_value_t *v)
{
    return v && v->type == SL_DOUBLE ? v->u.d : 0.0;
}

double
sl_value_get_number(const sl_value_t *v, bool *ok)
{
    bool is_number = v && (v->type == SL_INT || v->type == SL_DOUBLE);
    if (ok)
        *ok = is_number;
    if (!is_number)
        return 0.0;
    return v->type == SL_INT ? (double)v->u.i : v->u.d;
}

const char *
sl_value_get_string(const sl_value_t *v, size_t *size)
{
    bool is_str = v && (v->type == SL_STRING || v->type == SL_BYTES);
    if (size)
        *size = is_str ? v->u.str.size : 0;
    return is_str ? v->u.str.data : NULL;
}

const void *
sl_value_get_bytes(const sl_value_t *v, size_t *size)
{
    return sl_value_get_string(v, size);
}

size_t
sl_value_count(const sl_value_t *v)
{
    return v && (v->type == SL_LIST || v->type == SL_MAP) ? v->u.seq.count : 0;
}

const sl_value_t *
sl_value_at(const sl_value_t *v, size_t i)
{
    return i < sl_value_count(v) ? v->u.seq.items[i] : NULL;
}

const char *
sl_value_key_at(const sl_value_t *v, size_t i)
{
    return v && v->type == SL_MAP && i < v->u.seq.count ? v->u.seq.keys[i]
                                                        : NULL;
}

const sl_value_t *
sl_value_lookup(const sl_value_t *map, const char *key)
{
    if (!map || map->type != SL_MAP)
        return NULL;
    ptrdiff_t at = find_key(map, key);
    return at < 0 ? NULL : map->u.seq.items[at];
}

sl_value_t *
sl_value_take(sl_value_t *v, size_t i)
{
    if (i >= sl_value_count(v))
        return NULL;
    sl_value_t *null = sl_value_new_null();
    if (!null)
        return NULL;
    sl_value_t *item = v->u.seq.items[i];
    v->u.seq.items[i] = null;
    return item;
}

size_t
sl_value_depth(const sl_value_t *v)
{
    size_t deepest = 0;
    for (size_t i = 0; i < sl_value_count(v); i++) {
        size_t d = sl_value_depth(v->u.seq.items[i]);
        if (d > deepest)
            deepest = d;
    }
    return 1 + deepest;
}

static size_t utf8_length(const unsigned char *s, size_t left);

bool
sl_value_is_utf8(const char *s, size_t size)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < size;) {
        size_t n = u[i] == 0     ? 0
                   : u[i] < 0x80 ? 1
                                 : utf8_length(u + i, size - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

/* The length of the valid UTF-8 sequence at s[0..left), or 0 if it is not
 * one (a stray continuation byte, an overlong form, a surrogate, a code
 * point past U+10FFFF, or a sequence cut short). */
static size_t
utf8_length(const unsigned char *s, size_t left)
{
    size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
    if (n == 0 || n > left || s[0] > 0xf4 || s[0] == 0xc0 || s[0] == 0xc1)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) ||  /* overlong 3-byte */
        (s[0] == 0xed && s[1] >= 0xa0) || /* UTF-16 surrogates */
        (s[0] == 0xf0 && s[1] < 0x90) ||  /* overlong 4-byte */
        (s[0] == 0xf4 && s[1] >= 0x90))   /* past U+10FFFF */
        return 0;
    return n;
}

/* A JSON string: escapes what JSON demands, and writes U+FFFD for each
 * byte that is not part of valid UTF-8, so the text is always valid JSON
 * (a string value may hold any bytes). */
static void
json_string(sl_buf_t *b, const char *s, size_t size)
{
    const unsigned char *u = (const unsigned char *)s;
    sl_buf_putc(b, '"');
    for (size_t i = 0; i < size;) {
        unsigned char c = u[i];
        size_t n = c < 0x80 ? 1 : utf8_length(u + i, size - i);
        if (c == '"' || c == '\\')
            sl_buf_printf(b, "\\%c", c);
        else if (c == '\n')
            sl_buf_append(b, "\\n", 2);
        else if (c < 0x20)
            sl_buf_printf(b, "\\u%04x", c);
        else if (n == 0)
            sl_buf_append(b, "\\ufffd", 6);
        else
            sl_buf_append(b, s + i, n);
        i += n ? n : 1;
    }
    sl_buf_putc(b, '"');
}

static void
json_value(sl_buf_t *b, const sl_value_t *v)
{
    switch (v->type) {
    case SL_NULL: sl_buf_append(b, "null", 4); return;
    case SL_BOOL: sl_buf_printf(b, "%s", v->u.b ? "true" : "false"); return;
    case SL_INT: sl_buf_printf(b, "%" PRId64, v->u.i); return;
    case SL_DOUBLE:
        if (isfinite(v->u.d))
            sl_buf_printf(b, "%.17g", v->u.d);
        else
            sl_buf_printf(b, "\"%s\"",
                          isnan(v->u.d) ? "NaN"
                          : v->u.d > 0  ? "Infinity"
                                        : "-Infinity");
        return;
    case SL_STRING: json_string(b, v->u.str.data, v->u.str.size); return;
    case SL_BYTES:
        sl_buf_append(b, "{\"$bytes\":\"", 11);
        for (size_t i = 0; i < v->u.str.size; i++)
            sl_buf_printf(b, "%02x", (unsigned char)v->u.str.data[i]);
        sl_buf_append(b, "\"}", 2);
        return;
    case SL_LIST:
    case SL_MAP: break;
    }
    sl_buf_putc(b, v->type == SL_MAP ? '{' : '[');
    for (size_t i = 0; i < v->u.seq.count; i++) {
        if (i)
            sl_buf_putc(b, ',');
        if (v->type == SL_MAP) {
            json_string(b, v->u.seq.keys[i], strlen(v->u.seq.keys[i]));
            sl_buf_putc(b, ':');
        }
        json_value(b, v->u.seq.items[i]);
    }
    sl_buf_putc(b, v->type == SL_MAP ? '}' : ']');
}

char *
sl_value_to_json(const sl_value_t *v)
{
    sl_buf_t b = {0};
    if (v)
        json_value(&b, v);
    else
        sl_buf_append(&b, "null", 4);
    return sl_buf_steal(&b);
}

int
sl_value_append_unchecked(sl_value_t *map, const char *key, size_t key_size,
                          sl_value_t **item)
{
    int rc = SL_EINVAL;
    if (!map || map->type != SL_MAP || !item || !*item)
        goto out;
    rc = grow(map);
    if (rc < 0)
        goto out;
    char *k = strndup(key, key_size);
    if (!k) {
        rc = SL_ENOMEM;
        goto out;
    }
    map->u.seq.keys[map->u.seq.count] = k;
    map->u.seq.items[map->u.seq.count++] = *item;
    *item = NULL;
out:
    if (item)
        sl_value_destroy(item);
    return rc;
}

static int
compare_key_ptrs(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

const char *
sl_value_duplicate_key(const sl_value_t *map)
{
    size_t n = sl_value_count(map);
    if (n < 2 || map->type != SL_MAP)
        return NULL;
    char **keys = malloc(n * sizeof *keys);
    if (!keys)
        return map->u.seq.keys[0]; /* cannot prove it unique: refuse */
    memcpy(keys, map->u.seq.keys, n * sizeof *keys);
    qsort(keys, n, sizeof *keys, compare_key_ptrs);
    const char *dup = NULL;
    for (size_t i = 1; i < n && !dup; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0)
            dup = keys[i];
    free(keys);
    return dup;
}

int
sl_value_put_string(sl_value_t *map, const char *key, const char *s)
{
    sl_value_t *v = sl_value_new_string(s ? s : "");
    return v ? sl_value_put(map, key, &v) : SL_ENOMEM;
}

int
sl_value_put_int(sl_value_t *map, const char *key, int64_t i)
{
    sl_value_t *v = sl_value_new_int(i);
    return v ? sl_value_put(map, key, &v) : SL_ENOMEM;
}

int
sl_value_want_count(const sl_value_t *map, const char *key, const char *what,
                    uint64_t *out, sl_error_t *err)
{
    const sl_value_t *f = sl_value_lookup(map, key);
    if (sl_value_type(f) != SL_INT || sl_value_get_int(f) < 0)
        return sl_error_set(err, SL_EINVAL, "%s: '%s' must be an integer >= 0",
                            what, key);
    *out = (uint64_t)sl_value_get_int(f);
    return 0;
}

/* Counts v's nodes into *count; SL_ETOOBIG past a cap (depth first). */
static int
count_capped(const sl_value_t *v, size_t depth, size_t *count, bool *is_deep)
{
    *is_deep = depth > SL_VALUE_MAX_DEPTH;
    if (*is_deep || ++*count > SL_VALUE_MAX_NODES)
        return SL_ETOOBIG;
    for (size_t i = 0; i < sl_value_count(v); i++)
        if (count_capped(sl_value_at(v, i), depth + 1, count, is_deep) < 0)
            return SL_ETOOBIG;
    return 0;
}

int
sl_value_check_caps(const sl_value_t *v, sl_error_t *err)
{
    size_t count = 0;
    bool is_deep = false;
    if (count_capped(v, 1, &count, &is_deep) == 0)
        return 0;
    if (is_deep)
        return sl_error_set(err, SL_ETOOBIG, "value nests deeper than %d",
                            SL_VALUE_MAX_DEPTH);
    return sl_error_set(err, SL_ETOOBIG,
                        "value has more than %u nodes (one per number, string, "
                        "list or map in it)",
                        SL_VALUE_MAX_NODES);
}
