/* common/load_spec.c: reading and filling a load test's scenario. */
#include "load_spec.h"

#include "duration.h"
#include "load_stats.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the reader carries: where errors point, and the first error. */
typedef struct {
    const char *where;
    sl_error_t *err;
} reader_t;

static int fail(reader_t *r, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(reader_t *r, const char *field, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sl_error_set(r->err, SL_EINVAL, "%s: %s: %s", r->where, field, msg);
}

/* splitmix64: the same k, the same draw, on every worker. */
static uint64_t
mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* ---- templates ---------------------------------------------------------- */

static int
var_index(const sl_load_spec_t *s, const char *name, size_t size)
{
    if (size == 3 && !memcmp(name, "seq", 3))
        return SL_LOAD_SEQ;
    if (size == 6 && !memcmp(name, "worker", 6))
        return SL_LOAD_WORKER;
    for (size_t i = 0; i < s->var_count; i++)
        if (strlen(s->vars[i].name) == size &&
            !memcmp(s->vars[i].name, name, size))
            return (int)i;
    return SL_LOAD_LITERAL;
}

/* Splits text into t's parts; {{name}} must name seq, worker or a var. */
static int
compile(reader_t *r, const sl_load_spec_t *s, const char *field,
        const char *text, sl_load_tpl_t *t)
{
    size_t len = strlen(text), max = len / 2 + 2;
    t->text = strdup(text);
    t->parts = calloc(max, sizeof *t->parts);
    if (!t->text || !t->parts)
        return sl_error_set(r->err, SL_ENOMEM, "out of memory");
    const char *p = t->text;
    while (*p) {
        const char *open = strstr(p, "{{");
        if (open != p) {
            size_t n = open ? (size_t)(open - p) : strlen(p);
            t->parts[t->count++] = (sl_load_part_t){p, n, SL_LOAD_LITERAL};
            p += n;
            continue;
        }
        const char *close = strstr(open + 2, "}}");
        if (!close)
            return fail(r, field, "'{{' at byte %zu is never closed by '}}'",
                        (size_t)(open - t->text));
        const char *name = open + 2;
        size_t n = (size_t)(close - name);
        while (n && name[0] == ' ')
            name++, n--;
        while (n && name[n - 1] == ' ')
            n--;
        int var = var_index(s, name, n);
        if (var == SL_LOAD_LITERAL)
            return fail(r, field,
                        "{{%.*s}} names no variable (seq, worker, or one of "
                        "vars)",
                        (int)n, name);
        t->parts[t->count++] = (sl_load_part_t){NULL, 0, var};
        p = close + 2;
    }
    return 0;
}

static bool
is_literal(const sl_load_tpl_t *t)
{
    for (size_t i = 0; i < t->count; i++)
        if (t->parts[i].var != SL_LOAD_LITERAL)
            return false;
    return true;
}

static void
tpl_fini(sl_load_tpl_t *t)
{
    free(t->text);
    free(t->parts);
    *t = (sl_load_tpl_t){0};
}

int
sl_load_fill(const sl_load_spec_t *s, const sl_load_tpl_t *t, uint64_t k,
             uint32_t worker, sl_buf_t *out)
{
    int rc = sl_buf_reserve(out, 0);
    for (size_t i = 0; rc == 0 && i < t->count; i++) {
        const sl_load_part_t *p = &t->parts[i];
        if (p->var == SL_LOAD_LITERAL) {
            rc = sl_buf_append(out, p->text, p->size);
        } else if (p->var == SL_LOAD_SEQ) {
            rc = sl_buf_printf(out, "%llu", (unsigned long long)k);
        } else if (p->var == SL_LOAD_WORKER) {
            rc = sl_buf_printf(out, "%u", worker);
        } else {
            const sl_load_var_t *v = &s->vars[p->var];
            uint64_t draw = mix(k * 0x100000001b3ull + (uint64_t)p->var + 1);
            if (v->items)
                rc = sl_buf_printf(out, "%s", v->items[draw % v->item_count]);
            else
                rc = sl_buf_printf(out, "%lld",
                                   (long long)(v->lo +
                                               (int64_t)(draw %
                                                         (uint64_t)(v->hi -
                                                                    v->lo +
                                                                    1))));
        }
    }
    return rc;
}

const sl_load_request_t *
sl_load_pick(const sl_load_spec_t *s, uint64_t k)
{
    if (s->request_count == 1)
        return &s->requests[0];
    uint64_t draw = mix(k) % s->weight_total;
    size_t i = 0;
    while (draw >= s->requests[i].weight)
        draw -= s->requests[i++].weight;
    return &s->requests[i];
}

size_t
sl_load_origins(const sl_load_spec_t *s, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < s->request_count; i++) {
        size_t j = 0;
        while (j < n && strcmp(out[j], s->requests[i].origin))
            j++;
        if (j == n && n < max)
            out[n++] = s->requests[i].origin;
    }
    return n;
}

/* ---- fields ------------------------------------------------------------- */

static int
want_string(reader_t *r, const sl_value_t *v, const char *field,
            const char **out)
{
    if (sl_value_type(v) != SL_STRING)
        return fail(r, field, "must be a string, not %s",
                    sl_type_name(sl_value_type(v)));
    *out = sl_value_get_string(v, NULL);
    return 0;
}

static int
want_number(reader_t *r, const sl_value_t *v, const char *field, double min,
            double *out)
{
    bool ok = false;
    double d = sl_value_get_number(v, &ok);
    if (!ok || !isfinite(d) || d < min)
        return fail(r, field, "must be a number >= %g", min);
    *out = d;
    return 0;
}

static int
want_int(reader_t *r, const sl_value_t *v, const char *field, int64_t min,
         int64_t max, int64_t *out)
{
    if (sl_value_type(v) != SL_INT || sl_value_get_int(v) < min ||
        sl_value_get_int(v) > max)
        return fail(r, field, "must be an integer from %lld to %lld",
                    (long long)min, (long long)max);
    *out = sl_value_get_int(v);
    return 0;
}

/* A duration: a string such as "30s", "500ms", "2m" (a bare number is
 * seconds). */
static int
want_duration(reader_t *r, const sl_value_t *v, const char *field, uint64_t *ms)
{
    int64_t d = 0;
    char text[64];
    if (sl_value_type(v) == SL_INT || sl_value_type(v) == SL_DOUBLE)
        snprintf(text, sizeof text, "%.17g", sl_value_get_number(v, NULL));
    else if (sl_value_type(v) == SL_STRING)
        snprintf(text, sizeof text, "%s", sl_value_get_string(v, NULL));
    else
        text[0] = '\0';
    if (!*text || sl_duration_parse(text, &d) < 0 || d <= 0)
        return fail(r, field,
                    "must be a duration above zero, such as 30s, 500ms or 2m");
    *ms = (uint64_t)d;
    return 0;
}

static bool
is_token(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
            return false;
    return true;
}

static bool
is_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return false;
    return true;
}

static bool
has_line_break(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

/* The scheme://host[:port] that starts url; none of it templated. */
static int
read_origin(reader_t *r, const char *field, const char *url, char **origin)
{
    size_t skip = !strncmp(url, "http://", 7)    ? 7
                  : !strncmp(url, "https://", 8) ? 8
                                                 : 0;
    if (!skip)
        return fail(r, field, "'%s' must start with http:// or https://", url);
    size_t host = strcspn(url + skip, "/?#");
    if (host == 0)
        return fail(r, field, "'%s' names no host", url);
    if (memchr(url + skip, '{', host) || memchr(url + skip, '@', host))
        return fail(r, field,
                    "'%s': the host and port are written out, with no "
                    "{{...}} and no user@",
                    url);
    *origin = strndup(url, skip + host);
    return *origin ? 0 : sl_error_set(r->err, SL_ENOMEM, "out of memory");
}

static int
read_vars(reader_t *r, sl_load_spec_t *s, const sl_value_t *vars)
{
    char field[128];
    if (!vars)
        return 0;
    if (sl_value_type(vars) != SL_MAP)
        return fail(r, "vars",
                    "must be a map of NAME: [values] or NAME: "
                    "{range: [LOW, HIGH]}");
    size_t count = sl_value_count(vars);
    if (count > SL_LOAD_MAX_VARS)
        return fail(r, "vars", "at most %d", SL_LOAD_MAX_VARS);
    s->vars = calloc(count + 1, sizeof *s->vars);
    if (!s->vars)
        return sl_error_set(r->err, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        sl_load_var_t *var = &s->vars[i];
        const sl_value_t *v = sl_value_at(vars, i);
        const char *name = sl_value_key_at(vars, i);
        snprintf(field, sizeof field, "vars.%s", name);
        if (!is_name(name) ||
            var_index(s, name, strlen(name)) != SL_LOAD_LITERAL)
            return fail(r, field,
                        "a variable's name is 1 to 64 letters, digits, _ or "
                        "-, not seq or worker");
        if (!(var->name = strdup(name)))
            return sl_error_set(r->err, SL_ENOMEM, "out of memory");
        s->var_count = i + 1;
        const sl_value_t *range = sl_value_lookup(v, "range");
        if (sl_value_type(v) == SL_MAP) {
            int64_t lo = 0, hi = 0;
            if (sl_value_count(v) != 1 || sl_value_type(range) != SL_LIST ||
                sl_value_count(range) != 2)
                return fail(r, field, "must be {range: [LOW, HIGH]}");
            if (want_int(r, sl_value_at(range, 0), field, INT64_MIN / 4,
                         INT64_MAX / 4, &lo) < 0 ||
                want_int(r, sl_value_at(range, 1), field, lo, INT64_MAX / 4,
                         &hi) < 0)
                return SL_EINVAL;
            var->lo = lo, var->hi = hi;
            continue;
        }
        var->item_count = sl_value_count(v);
        if (sl_value_type(v) != SL_LIST || var->item_count == 0)
            return fail(r, field,
                        "must be a list of one value or more, or {range: "
                        "[LOW, HIGH]}");
        if (!(var->items = calloc(var->item_count, sizeof *var->items)))
            return sl_error_set(r->err, SL_ENOMEM, "out of memory");
        for (size_t j = 0; j < var->item_count; j++) {
            const sl_value_t *item = sl_value_at(v, j);
            char num[64];
            const char *text = num;
            if (sl_value_type(item) == SL_STRING)
                text = sl_value_get_string(item, NULL);
            else if (sl_value_type(item) == SL_INT)
                snprintf(num, sizeof num, "%lld",
                         (long long)sl_value_get_int(item));
            else if (sl_value_type(item) == SL_DOUBLE)
                snprintf(num, sizeof num, "%.17g", sl_value_get_double(item));
            else
                return fail(r, field, "item %zu must be a string or a number",
                            j);
            if (has_line_break(text))
                return fail(r, field, "item %zu has a line break", j);
            if (!(var->items[j] = strdup(text)))
                return sl_error_set(r->err, SL_ENOMEM, "out of memory");
        }
    }
    return 0;
}

static int
read_headers(reader_t *r, sl_load_spec_t *s, sl_load_request_t *q,
             const sl_value_t *h, const char *at)
{
    char field[160];
    snprintf(field, sizeof field, "%s.headers", at);
    if (!h)
        return 0;
    if (sl_value_type(h) != SL_MAP || sl_value_count(h) > SL_LOAD_MAX_HEADERS)
        return fail(r, field, "must be a map of at most %d Name: value",
                    SL_LOAD_MAX_HEADERS);
    q->headers = calloc(sl_value_count(h) + 1, sizeof *q->headers);
    if (!q->headers)
        return sl_error_set(r->err, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < sl_value_count(h); i++) {
        const char *name = sl_value_key_at(h, i), *value = NULL;
        sl_buf_t line = {0};
        snprintf(field, sizeof field, "%s.headers.%s", at, name);
        if (!is_token(name, 256))
            return fail(r, field,
                        "a header's name is a token: letters, "
                        "digits and !#$%%&'*+-.^_`|~");
        if (want_string(r, sl_value_at(h, i), field, &value) < 0)
            return SL_EINVAL;
        if (has_line_break(value))
            return fail(r, field, "has a line break");
        if (sl_buf_printf(&line, "%s: %s", name, value) < 0)
            return sl_error_set(r->err, SL_ENOMEM, "out of memory");
        int rc = compile(r, s, field, line.data, &q->headers[q->header_count]);
        q->header_count++;
        sl_buf_fini(&line);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
read_request(reader_t *r, sl_load_spec_t *s, sl_load_request_t *q,
             const sl_value_t *v, const char *at)
{
    static const char *const known[] = {"name", "method", "url", "headers",
                                        "body", "weight", NULL};
    char field[160];
    const char *url = NULL, *method = "GET", *name = NULL, *body = NULL;
    int64_t weight = 1;
    if (sl_value_type(v) != SL_MAP)
        return fail(r, at, "must be a map with a url");
    for (size_t i = 0; i < sl_value_count(v); i++) {
        size_t k = 0;
        while (known[k] && strcmp(known[k], sl_value_key_at(v, i)))
            k++;
        if (!known[k])
            return fail(r, at,
                        "unknown field '%s' (name, method, url, headers, "
                        "body, weight)",
                        sl_value_key_at(v, i));
    }
    const sl_value_t *f;
    snprintf(field, sizeof field, "%s.url", at);
    if (!(f = sl_value_lookup(v, "url")))
        return fail(r, field, "missing: a request needs a url");
    if (want_string(r, f, field, &url) < 0 ||
        read_origin(r, field, url, &q->origin) < 0 ||
        compile(r, s, field, url, &q->url) < 0)
        return SL_EINVAL;
    for (size_t i = 0; i < q->url.count; i++)
        if (q->url.parts[i].var == SL_LOAD_LITERAL &&
            strcspn(q->url.parts[i].text, " \r\n") < q->url.parts[i].size)
            return fail(r, field, "'%s' has a space or a line break", url);
    snprintf(field, sizeof field, "%s.method", at);
    if ((f = sl_value_lookup(v, "method")) &&
        (want_string(r, f, field, &method) < 0 || !is_token(method, 16)))
        return fail(r, field, "must be a method such as GET or POST");
    snprintf(field, sizeof field, "%s.name", at);
    if ((f = sl_value_lookup(v, "name")) && want_string(r, f, field, &name) < 0)
        return SL_EINVAL;
    snprintf(field, sizeof field, "%s.weight", at);
    if ((f = sl_value_lookup(v, "weight")) &&
        want_int(r, f, field, 1, SL_LOAD_MAX_WEIGHT, &weight) < 0)
        return SL_EINVAL;
    snprintf(field, sizeof field, "%s.body", at);
    if ((f = sl_value_lookup(v, "body")) &&
        (want_string(r, f, field, &body) < 0 ||
         compile(r, s, field, body, &q->body) < 0))
        return SL_EINVAL;
    q->method = strdup(method);
    q->weight = (uint32_t)weight;
    q->is_literal = is_literal(&q->url) && is_literal(&q->body);
    if (name) {
        q->name = strdup(name);
    } else {
        sl_buf_t b = {0};
        sl_buf_printf(&b, "%s %s", method, url);
        q->name = sl_buf_steal(&b);
    }
    if (!q->method || !q->name)
        return sl_error_set(r->err, SL_ENOMEM, "out of memory");
    int rc = read_headers(r, s, q, sl_value_lookup(v, "headers"), at);
    for (size_t h = 0; rc == 0 && h < q->header_count; h++)
        q->is_literal = q->is_literal && is_literal(&q->headers[h]);
    return rc;
}

static int
read_requests(reader_t *r, sl_load_spec_t *s, const sl_value_t *top)
{
    const sl_value_t *list = sl_value_lookup(top, "requests"),
                     *url = sl_value_lookup(top, "url");
    char at[64];
    if (list && url)
        return fail(r, "url", "give a url or requests, not both");
    if (!list && !url)
        return fail(r, "requests", "missing: name a url or a list of requests");
    if (list && (sl_value_type(list) != SL_LIST || sl_value_count(list) == 0 ||
                 sl_value_count(list) > SL_LOAD_MAX_REQUESTS))
        return fail(r, "requests", "must be a list of 1 to %d requests",
                    SL_LOAD_MAX_REQUESTS);
    s->request_count = list ? sl_value_count(list) : 1;
    s->requests = calloc(s->request_count, sizeof *s->requests);
    if (!s->requests)
        return sl_error_set(r->err, SL_ENOMEM, "out of memory");
    if (!list) {
        sl_value_t *one = sl_value_new_map(), *u = sl_value_copy(url);
        int rc = one && u && sl_value_put(one, "url", &u) == 0
                     ? read_request(r, s, &s->requests[0], one, "top")
                     : sl_error_set(r->err, SL_ENOMEM, "out of memory");
        sl_value_destroy(&one);
        sl_value_destroy(&u);
        s->weight_total = 1;
        return rc;
    }
    for (size_t i = 0; i < s->request_count; i++) {
        snprintf(at, sizeof at, "requests[%zu]", i);
        int rc = read_request(r, s, &s->requests[i], sl_value_at(list, i), at);
        if (rc < 0)
            return rc;
        s->weight_total += s->requests[i].weight;
    }
    return 0;
}

/* rate and duration, or stages (from rate, else 0); max_rate caps. */
static int
read_schedule(reader_t *r, sl_load_spec_t *s, const sl_value_t *top)
{
    const sl_value_t *rate = sl_value_lookup(top, "rate"),
                     *duration = sl_value_lookup(top, "duration"),
                     *stages = sl_value_lookup(top, "stages"),
                     *max_rate = sl_value_lookup(top, "max_rate");
    sl_arrival_stage_t st[SL_LOAD_MAX_STAGES];
    size_t count = 0;
    double start = 0, cap = 0;
    if (rate && want_number(r, rate, "rate", 0, &start) < 0)
        return SL_EINVAL;
    if (max_rate && want_number(r, max_rate, "max_rate", 0, &cap) < 0)
        return SL_EINVAL;
    if (stages && duration)
        return fail(r, "duration", "give stages or a duration, not both");
    if (!stages) {
        uint64_t ms = 0;
        if (!rate || !duration)
            return fail(r, rate ? "duration" : "rate",
                        "missing: a test needs a rate and a duration, or "
                        "stages");
        if (want_duration(r, duration, "duration", &ms) < 0)
            return SL_EINVAL;
        st[count++] = (sl_arrival_stage_t){start, ms * 1000000ull};
    } else {
        if (sl_value_type(stages) != SL_LIST || sl_value_count(stages) == 0 ||
            sl_value_count(stages) > SL_LOAD_MAX_STAGES)
            return fail(r, "stages",
                        "must be a list of 1 to %d {duration, target}",
                        SL_LOAD_MAX_STAGES);
        for (; count < sl_value_count(stages); count++) {
            const sl_value_t *v = sl_value_at(stages, count);
            char field[64];
            uint64_t ms;
            snprintf(field, sizeof field, "stages[%zu]", count);
            if (sl_value_type(v) != SL_MAP || sl_value_count(v) != 2 ||
                !sl_value_lookup(v, "duration") ||
                !sl_value_lookup(v, "target"))
                return fail(r, field, "must be {duration: D, target: RATE}");
            snprintf(field, sizeof field, "stages[%zu].duration", count);
            if (want_duration(r, sl_value_lookup(v, "duration"), field, &ms) <
                0)
                return SL_EINVAL;
            snprintf(field, sizeof field, "stages[%zu].target", count);
            if (want_number(r, sl_value_lookup(v, "target"), field, 0,
                            &st[count].target_rps) < 0)
                return SL_EINVAL;
            st[count].duration_ns = ms * 1000000ull;
        }
    }
    sl_error_t why = {0};
    if (sl_arrival_init(&s->schedule, start, st, count, cap, &why) < 0)
        return fail(r, stages ? "stages" : "rate", "%s", why.msg);
    uint64_t length_ns = sl_arrival_length_ns(&s->schedule);
    if (length_ns > (uint64_t)SL_LOAD_MAX_TEST_S * 1000000000ull)
        return fail(r, stages ? "stages" : "duration",
                    "the test would last %.0f s, over the cap of %u s (24 h)",
                    (double)length_ns / 1e9, SL_LOAD_MAX_TEST_S);
    if (s->schedule.total == 0)
        return fail(r, stages ? "stages" : "rate",
                    "the schedule sends no request");
    return 0;
}

int
sl_load_spec_read(sl_load_spec_t *s, const sl_value_t *v, const char *where,
                  sl_error_t *err)
{
    static const char *const known[] = {"url",      "requests",    "vars",
                                        "rate",     "duration",    "stages",
                                        "max_rate", "connections", "timeout",
                                        "insecure", "name",        NULL};
    reader_t r = {where, err};
    *s = (sl_load_spec_t){.connections = SL_LOAD_DEFAULT_CONNECTIONS,
                          .timeout_ms = SL_LOAD_DEFAULT_TIMEOUT_MS};
    int rc = 0;
    if (sl_value_type(v) != SL_MAP)
        rc = sl_error_set(err, SL_EINVAL, "%s: a scenario is a map", where);
    for (size_t i = 0; rc == 0 && i < sl_value_count(v); i++) {
        size_t k = 0;
        while (known[k] && strcmp(known[k], sl_value_key_at(v, i)))
            k++;
        if (!known[k])
            rc = fail(&r, sl_value_key_at(v, i),
                      "unknown field (url, requests, vars, rate, duration, "
                      "stages, max_rate, connections, timeout, insecure, "
                      "name)");
    }
    const sl_value_t *f;
    int64_t n = 0;
    if (rc == 0)
        rc = read_vars(&r, s, sl_value_lookup(v, "vars"));
    if (rc == 0)
        rc = read_requests(&r, s, v);
    if (rc == 0)
        rc = read_schedule(&r, s, v);
    if (rc == 0 && (f = sl_value_lookup(v, "connections"))) {
        rc = want_int(&r, f, "connections", 1, SL_LOAD_MAX_CONNECTIONS, &n);
        s->connections = (uint32_t)n;
    }
    if (rc == 0 && (f = sl_value_lookup(v, "timeout")))
        rc = want_duration(&r, f, "timeout", &s->timeout_ms);
    if (rc == 0 && (f = sl_value_lookup(v, "insecure"))) {
        if (sl_value_type(f) != SL_BOOL)
            rc = fail(&r, "insecure", "must be true or false");
        s->is_insecure = sl_value_get_bool(f);
    }
    if (rc == 0 && (f = sl_value_lookup(v, "name")) &&
        sl_value_type(f) != SL_STRING)
        rc = fail(&r, "name", "must be a string");
    if (rc < 0)
        sl_load_spec_fini(s);
    return rc;
}

void
sl_load_spec_fini(sl_load_spec_t *s)
{
    for (size_t i = 0; s->requests && i < s->request_count; i++) {
        sl_load_request_t *q = &s->requests[i];
        free(q->name);
        free(q->method);
        free(q->origin);
        tpl_fini(&q->url);
        tpl_fini(&q->body);
        for (size_t h = 0; h < q->header_count; h++)
            tpl_fini(&q->headers[h]);
        free(q->headers);
    }
    for (size_t i = 0; s->vars && i < s->var_count; i++) {
        for (size_t j = 0; s->vars[i].items && j < s->vars[i].item_count; j++)
            free(s->vars[i].items[j]);
        free(s->vars[i].items);
        free(s->vars[i].name);
    }
    free(s->requests);
    free(s->vars);
    *s = (sl_load_spec_t){0};
}
