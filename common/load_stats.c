/* common/load_stats.c: a load test's figures, and their form as a
 * value. */
#include "load_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const error_names[SL_LOAD_ERR_COUNT] = {
    [SL_LOAD_ERR_REFUSED] = "refused",
    [SL_LOAD_ERR_TIMEOUT] = "timeout",
    [SL_LOAD_ERR_DNS] = "dns",
    [SL_LOAD_ERR_TLS] = "tls",
    [SL_LOAD_ERR_CONNECTION] = "connection",
    [SL_LOAD_ERR_OTHER] = "other",
};

/* The counters, in the value's order. */
#define COUNTERS(X)                                                            \
    X(scheduled)                                                               \
    X(sent) X(answered) X(unsent) X(aborted) X(late) X(bytes_out) X(bytes_in)

int
sl_load_stats_init(sl_load_stats_t *s)
{
    *s = (sl_load_stats_t){.latency_us = sl_hist_new()};
    return s->latency_us ? 0 : SL_ENOMEM;
}

void
sl_load_stats_fini(sl_load_stats_t *s)
{
    sl_hist_destroy(&s->latency_us);
    for (uint32_t i = 0; i < s->request_count; i++)
        sl_hist_destroy(&s->requests[i].latency_us);
    free(s->requests);
    free(s->seconds);
    *s = (sl_load_stats_t){0};
}

const char *
sl_load_error_name(sl_load_error_t kind)
{
    return kind < SL_LOAD_ERR_COUNT ? error_names[kind] : "other";
}

sl_load_second_t *
sl_load_stats_second(sl_load_stats_t *s, uint64_t sec)
{
    if (sec >= SL_LOAD_MAX_SECONDS)
        return NULL;
    if (sec >= s->second_count) {
        uint32_t n = s->second_count ? s->second_count : 16;
        while (n <= sec)
            n *= 2;
        sl_load_second_t *grown = realloc(s->seconds, n * sizeof *grown);
        if (!grown)
            return NULL;
        memset(grown + s->second_count, 0,
               (n - s->second_count) * sizeof *grown);
        s->seconds = grown;
        s->second_count = n;
    }
    return &s->seconds[sec];
}

sl_load_request_stats_t *
sl_load_stats_request(sl_load_stats_t *s, uint32_t req)
{
    if (req >= SL_LOAD_MAX_SPLIT)
        return NULL;
    if (req >= s->request_count) {
        sl_load_request_stats_t *grown =
            realloc(s->requests, (req + 1) * sizeof *grown);
        if (!grown)
            return NULL;
        memset(grown + s->request_count, 0,
               (req + 1 - s->request_count) * sizeof *grown);
        s->requests = grown;
        s->request_count = req + 1;
    }
    return &s->requests[req];
}

void
sl_load_stats_sent(sl_load_stats_t *s, uint32_t req, uint64_t sec,
                   uint64_t lag_us)
{
    sl_load_second_t *at = sl_load_stats_second(s, sec);
    sl_load_request_stats_t *q = sl_load_stats_request(s, req);
    if (q)
        q->sent++;
    s->sent++;
    s->late += lag_us >= SL_LOAD_LATE_US;
    if (lag_us > s->max_lag_us)
        s->max_lag_us = lag_us;
    if (at)
        at->sent++;
}

void
sl_load_stats_answered(sl_load_stats_t *s, uint32_t req, uint64_t sec,
                       long status, uint64_t latency_us, uint64_t bytes)
{
    sl_load_second_t *at = sl_load_stats_second(s, sec);
    sl_load_request_stats_t *q = sl_load_stats_request(s, req);
    if (status < 0 || status >= SL_LOAD_STATUS_LIMIT)
        status = 0;
    if (q && (q->latency_us || (q->latency_us = sl_hist_new()))) {
        q->answered++;
        q->failed += status >= 400;
        sl_hist_add(q->latency_us, latency_us);
    }
    s->answered++;
    s->by_status[status]++;
    s->bytes_in += bytes;
    sl_hist_add(s->latency_us, latency_us);
    if (at) {
        at->answered++;
        at->failed += status >= 400;
    }
}

void
sl_load_stats_error(sl_load_stats_t *s, uint32_t req, uint64_t sec,
                    sl_load_error_t kind)
{
    sl_load_second_t *at = sl_load_stats_second(s, sec);
    sl_load_request_stats_t *q = sl_load_stats_request(s, req);
    if (q)
        q->failed++;
    s->errors[kind < SL_LOAD_ERR_COUNT ? kind : SL_LOAD_ERR_OTHER]++;
    if (at)
        at->failed++;
}

uint64_t
sl_load_stats_failed(const sl_load_stats_t *s)
{
    uint64_t n = 0;
    for (size_t k = 0; k < SL_LOAD_ERR_COUNT; k++)
        n += s->errors[k];
    for (size_t c = 400; c < SL_LOAD_STATUS_LIMIT; c++)
        n += s->by_status[c];
    return n;
}

/* ---- as a value --------------------------------------------------------- */

uint32_t
sl_load_stats_seconds_used(const sl_load_stats_t *s)
{
    uint32_t n = s->second_count;
    while (n && !s->seconds[n - 1].sent && !s->seconds[n - 1].answered &&
           !s->seconds[n - 1].failed)
        n--;
    return n;
}

static int
put_counts(sl_value_t *v, const char *key, const uint64_t *counts, size_t n,
           const char *const *names)
{
    sl_value_t *map = sl_value_new_map();
    int rc = map ? 0 : SL_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char code[16];
        if (!counts[i])
            continue;
        snprintf(code, sizeof code, "%zu", i);
        rc = sl_value_put_int(map, names ? names[i] : code, (int64_t)counts[i]);
    }
    return rc == 0 ? sl_value_put(v, key, &map) : (sl_value_destroy(&map), rc);
}

/* The figures of each request, in the scenario's order: a list of
 * {sent, answered, failed, latency_us}. */
static sl_value_t *
requests_value(const sl_load_stats_t *s)
{
    sl_value_t *list = sl_value_new_list();
    sl_hist_t *none = sl_hist_new();
    int rc = list && none ? 0 : SL_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < s->request_count; i++) {
        const sl_load_request_stats_t *q = &s->requests[i];
        sl_value_t *m = sl_value_new_map(),
                   *h = sl_hist_to_value(q->latency_us ? q->latency_us : none);
        rc = m && h ? 0 : SL_ENOMEM;
        if (rc == 0)
            rc = sl_value_put_int(m, "sent", (int64_t)q->sent);
        if (rc == 0)
            rc = sl_value_put_int(m, "answered", (int64_t)q->answered);
        if (rc == 0)
            rc = sl_value_put_int(m, "failed", (int64_t)q->failed);
        if (rc == 0)
            rc = sl_value_put(m, "latency_us", &h);
        if (rc == 0)
            rc = sl_value_push(list, &m);
        sl_value_destroy(&h);
        sl_value_destroy(&m);
    }
    sl_hist_destroy(&none);
    if (rc < 0)
        sl_value_destroy(&list);
    return list;
}

sl_value_t *
sl_load_stats_to_value(const sl_load_stats_t *s)
{
    sl_value_t *v = sl_value_new_map(), *hist = sl_hist_to_value(s->latency_us),
               *timeline = sl_value_new_list();
    int rc = v && hist && timeline ? 0 : SL_ENOMEM;
#define PUT(name)                                                              \
    if (rc == 0)                                                               \
        rc = sl_value_put_int(v, #name, (int64_t)s->name);
    COUNTERS(PUT)
    PUT(max_lag_us)
#undef PUT
    if (rc == 0)
        rc = put_counts(v, "status", s->by_status, SL_LOAD_STATUS_LIMIT, NULL);
    if (rc == 0)
        rc = put_counts(v, "errors", s->errors, SL_LOAD_ERR_COUNT, error_names);
    for (uint32_t i = 0; rc == 0 && i < sl_load_stats_seconds_used(s); i++) {
        const sl_load_second_t *at = &s->seconds[i];
        sl_value_t *a = sl_value_new_int((int64_t)at->sent),
                   *b = sl_value_new_int((int64_t)at->answered),
                   *c = sl_value_new_int((int64_t)at->failed);
        rc = sl_value_push(timeline, &a);
        rc = rc == 0 ? sl_value_push(timeline, &b) : (sl_value_destroy(&b), rc);
        rc = rc == 0 ? sl_value_push(timeline, &c) : (sl_value_destroy(&c), rc);
    }
    if (rc == 0)
        rc = sl_value_put(v, "latency_us", &hist);
    if (rc == 0)
        rc = sl_value_put(v, "timeline", &timeline);
    sl_value_t *requests = rc == 0 ? requests_value(s) : NULL;
    if (rc == 0)
        rc = requests ? sl_value_put(v, "requests", &requests) : SL_ENOMEM;
    sl_value_destroy(&hist);
    sl_value_destroy(&timeline);
    if (rc < 0)
        sl_value_destroy(&v);
    return v;
}

bool
sl_load_stats_counts(const sl_value_t *v, uint64_t counts[3])
{
    const sl_value_t *sent = sl_value_lookup(v, "sent"),
                     *answered = sl_value_lookup(v, "answered"),
                     *status = sl_value_lookup(v, "status"),
                     *errors = sl_value_lookup(v, "errors");
    if (sl_value_type(sent) != SL_INT || sl_value_type(answered) != SL_INT ||
        sl_value_type(status) != SL_MAP || sl_value_type(errors) != SL_MAP)
        return false;
    counts[0] = (uint64_t)sl_value_get_int(sent);
    counts[1] = (uint64_t)sl_value_get_int(answered);
    counts[2] = 0;
    for (size_t i = 0; i < sl_value_count(errors); i++)
        counts[2] += (uint64_t)sl_value_get_int(sl_value_at(errors, i));
    for (size_t i = 0; i < sl_value_count(status); i++)
        if (atoi(sl_value_key_at(status, i)) >= 400)
            counts[2] += (uint64_t)sl_value_get_int(sl_value_at(status, i));
    return true;
}

/* map's entries into counts: keys are status codes (names NULL) or
 * names[i]. */
static int
read_counts(const sl_value_t *v, const char *key, uint64_t *counts, size_t n,
            const char *const *names, sl_error_t *err)
{
    const sl_value_t *map = sl_value_lookup(v, key);
    if (sl_value_type(map) != SL_MAP)
        return sl_error_set(err, SL_EINVAL, "load stats: '%s' must be a map",
                            key);
    for (size_t i = 0; i < sl_value_count(map); i++) {
        const char *name = sl_value_key_at(map, i);
        const sl_value_t *c = sl_value_at(map, i);
        size_t at = 0;
        char *end = NULL;
        if (names) {
            while (at < n && strcmp(names[at], name))
                at++;
        } else {
            unsigned long code = strtoul(name, &end, 10);
            at = *name >= '0' && *name <= '9' && !*end ? (size_t)code : n;
        }
        if (at >= n || sl_value_type(c) != SL_INT || sl_value_get_int(c) < 0)
            return sl_error_set(err, SL_EINVAL,
                                "load stats: %s '%s' is not a known key with "
                                "a count >= 0",
                                key, name);
        counts[at] += (uint64_t)sl_value_get_int(c);
    }
    return 0;
}

/* The figures of each request (requests_value's form) into s. */
static int
read_requests(sl_load_stats_t *s, const sl_value_t *list, sl_error_t *err)
{
    size_t n = sl_value_count(list);
    if (sl_value_type(list) != SL_LIST || n > SL_LOAD_MAX_SPLIT)
        return sl_error_set(err, SL_EINVAL,
                            "load stats: 'requests' must be a list of at most "
                            "%d requests' figures",
                            SL_LOAD_MAX_SPLIT);
    for (size_t i = 0; i < n; i++) {
        const sl_value_t *m = sl_value_at(list, i);
        sl_load_request_stats_t *q = sl_load_stats_request(s, (uint32_t)i);
        if (!q || (!q->latency_us && !(q->latency_us = sl_hist_new())))
            return sl_error_set(err, SL_ENOMEM, "out of memory");
        if (sl_value_type(m) != SL_MAP)
            return sl_error_set(err, SL_EINVAL,
                                "load stats: requests[%zu] must be a map", i);
        int rc = sl_value_want_count(m, "sent", "load stats: a request",
                                     &q->sent, err);
        if (rc == 0)
            rc = sl_value_want_count(m, "answered", "load stats: a request",
                                     &q->answered, err);
        if (rc == 0)
            rc = sl_value_want_count(m, "failed", "load stats: a request",
                                     &q->failed, err);
        if (rc == 0)
            rc = sl_hist_merge_value(q->latency_us,
                                     sl_value_lookup(m, "latency_us"), err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
read_stats(sl_load_stats_t *s, const sl_value_t *v, sl_error_t *err)
{
    if (sl_value_type(v) != SL_MAP)
        return sl_error_set(err, SL_EINVAL, "load stats: must be a map");
    int rc = 0;
#define READ(name)                                                             \
    if (rc == 0)                                                               \
        rc = sl_value_want_count(v, #name, "load stats", &s->name, err);
    COUNTERS(READ)
    READ(max_lag_us)
#undef READ
    if (rc == 0)
        rc = read_counts(v, "status", s->by_status, SL_LOAD_STATUS_LIMIT, NULL,
                         err);
    if (rc == 0)
        rc = read_counts(v, "errors", s->errors, SL_LOAD_ERR_COUNT, error_names,
                         err);
    if (rc == 0)
        rc = sl_hist_merge_value(s->latency_us,
                                 sl_value_lookup(v, "latency_us"), err);
    const sl_value_t *t = sl_value_lookup(v, "timeline");
    size_t n = sl_value_count(t);
    if (rc == 0 &&
        (sl_value_type(t) != SL_LIST || n % 3 || n / 3 > SL_LOAD_MAX_SECONDS))
        rc = sl_error_set(err, SL_EINVAL,
                          "load stats: 'timeline' must be a list of [sent, "
                          "answered, failed] per second");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const sl_value_t *c = sl_value_at(t, i);
        sl_load_second_t *at = sl_load_stats_second(s, i / 3);
        if (sl_value_type(c) != SL_INT || sl_value_get_int(c) < 0)
            rc = sl_error_set(err, SL_EINVAL,
                              "load stats: timeline entry %zu must be a count "
                              ">= 0",
                              i);
        else if (!at)
            rc = sl_error_set(err, SL_ENOMEM, "out of memory");
        else
            *(uint64_t *[]){&at->sent, &at->answered, &at->failed}[i % 3] +=
                (uint64_t)sl_value_get_int(c);
    }
    return rc == 0 ? read_requests(s, sl_value_lookup(v, "requests"), err) : rc;
}

int
sl_load_stats_merge_value(sl_load_stats_t *s, const sl_value_t *v,
                          sl_error_t *err)
{
    sl_load_stats_t from;
    if (sl_load_stats_init(&from) < 0)
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    int rc = read_stats(&from, v, err);
    if (rc == 0 && from.second_count &&
        !sl_load_stats_second(s, from.second_count - 1))
        rc = sl_error_set(err, SL_ENOMEM, "out of memory");
    for (uint32_t i = 0; rc == 0 && i < from.request_count; i++) {
        sl_load_request_stats_t *q = sl_load_stats_request(s, i);
        if (!q || (!q->latency_us && !(q->latency_us = sl_hist_new())))
            rc = sl_error_set(err, SL_ENOMEM, "out of memory");
    }
    if (rc == 0) {
#define ADD(name) s->name += from.name;
        COUNTERS(ADD)
#undef ADD
        if (from.max_lag_us > s->max_lag_us)
            s->max_lag_us = from.max_lag_us;
        for (size_t i = 0; i < SL_LOAD_STATUS_LIMIT; i++)
            s->by_status[i] += from.by_status[i];
        for (size_t i = 0; i < SL_LOAD_ERR_COUNT; i++)
            s->errors[i] += from.errors[i];
        for (uint32_t i = 0; i < from.second_count; i++) {
            s->seconds[i].sent += from.seconds[i].sent;
            s->seconds[i].answered += from.seconds[i].answered;
            s->seconds[i].failed += from.seconds[i].failed;
        }
        sl_hist_merge(s->latency_us, from.latency_us);
        for (uint32_t i = 0; i < from.request_count; i++) {
            sl_load_request_stats_t *q = &s->requests[i];
            q->sent += from.requests[i].sent;
            q->answered += from.requests[i].answered;
            q->failed += from.requests[i].failed;
            sl_hist_merge(q->latency_us, from.requests[i].latency_us);
        }
    }
    sl_load_stats_fini(&from);
    return rc;
}
