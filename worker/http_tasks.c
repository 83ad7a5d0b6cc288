/* worker/http_tasks.c: the tasks that send HTTP requests (docs/LOAD.md),
 * registered only on a worker started with --http-allow rules, and never
 * sending anywhere those rules do not allow:
 *
 *   http@1  one request, as a step of any flow: its status, body, latency
 *           and bytes;
 *   load@1  a share of a `sluice load` test (load_share.c): its figures.
 *
 * Each executor thread keeps one libcurl multi handle for its whole life,
 * so connections are reused from one task to the next. */
#include "http_tasks.h"

#include "http_request.h"
#include "load_share.h"
#include "task_ctx.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* An http@1 response body past this fails the task. */
#define BODY_MAX_BYTES (16u << 20)
#define POLL_MS        20

/* ---- the thread's multi handle ----------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static pthread_key_t multi_key;

static void
free_multi(void *m)
{
    curl_multi_cleanup(m);
}

static void
init_curl(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_key_create(&multi_key, free_multi);
}

/* This thread's multi handle (made at first use, freed when the thread
 * ends); NULL when memory runs out. A forked child (--isolate) makes its
 * own: its parent's connections are not its to use. */
static CURLM *
thread_multi(void)
{
    static __thread pid_t owner;
    pthread_once(&curl_once, init_curl);
    CURLM *m = pthread_getspecific(multi_key);
    if (m && owner != getpid()) {
        pthread_setspecific(multi_key, NULL); /* the parent's: left alone */
        m = NULL;
    }
    if (!m && (m = curl_multi_init())) {
        pthread_setspecific(multi_key, m);
        owner = getpid();
    }
    return m;
}

static bool
is_cancelled(void *ctx)
{
    return sl_task_is_cancelled(ctx);
}

/* A share's figures so far, to the broker and on to `sluice load`. */
static void
report(void *ctx, const sl_load_stats_t *so_far)
{
    sl_value_t *v = sl_load_stats_to_value(so_far);
    if (v)
        sl_task_progress(ctx, v);
    sl_value_destroy(&v);
}

/* Fails the task unless the rules allow url's origin. */
static int
check_allowed(sl_task_ctx_t *ctx, const char *task, const char *url)
{
    char origin[512];
    if (!sl_http_origin(url, origin, sizeof origin))
        return sl_task_fail(ctx,
                            "%s: '%s' must start with http:// or https:// and "
                            "a host",
                            task, url);
    if (!ctx->http_rules || !sl_http_allowed(ctx->http_rules, origin))
        return sl_task_fail(ctx,
                            "%s: %s is not allowed by this worker's "
                            "--http-allow rules",
                            task, origin);
    return 0;
}

/* ---- http@1 ------------------------------------------------------------- */

typedef struct {
    sl_buf_t body;
    bool is_over;
} response_t;

static size_t
keep_body(char *data, size_t size, size_t n, void *p)
{
    response_t *r = p;
    if (r->body.size + size * n > BODY_MAX_BYTES) {
        r->is_over = true;
        return 0; /* libcurl stops the transfer */
    }
    return sl_buf_append(&r->body, data, size * n) == 0 ? size * n : 0;
}

/* The headers map as "Name: value" lines; -1 with the task failed. */
static int
read_headers(sl_task_ctx_t *ctx, const sl_value_t *map,
             struct curl_slist **headers)
{
    for (size_t h = 0; h < sl_value_count(map); h++) {
        const char *name = sl_value_key_at(map, h),
                   *v = sl_value_get_string(sl_value_at(map, h), NULL);
        sl_buf_t line = {0};
        if (!v || !*name || strpbrk(v, "\r\n") || strpbrk(name, " :\r\n"))
            return sl_task_fail(ctx,
                                "http: header '%s' must be a name and a "
                                "string of one line",
                                name);
        sl_buf_printf(&line, "%s: %s", name, v);
        struct curl_slist *more =
            line.data ? curl_slist_append(*headers, line.data) : NULL;
        sl_buf_fini(&line);
        if (!more)
            return sl_task_fail(ctx, "http: out of memory");
        *headers = more;
    }
    return 0;
}

/* The request's fields, checked; -1 with the task failed. */
static int
read_call(sl_task_ctx_t *ctx, const sl_value_t *args, sl_http_request_t *q,
          struct curl_slist **headers, bool *ok_any_status)
{
    const sl_value_t *m = sl_value_at(args, 0), *f;
    if (sl_value_count(args) != 1 || sl_value_type(m) != SL_MAP)
        return sl_task_fail(ctx, "http: takes one argument, a map with a url");
    if (!(q->url = sl_value_get_string(sl_value_lookup(m, "url"), NULL)))
        return sl_task_fail(ctx, "http: 'url' is missing or not a string");
    q->method = "GET";
    q->timeout_ms = SL_LOAD_DEFAULT_TIMEOUT_MS;
    for (size_t i = 0; i < sl_value_count(m); i++) {
        const char *key = sl_value_key_at(m, i);
        f = sl_value_at(m, i);
        if (!strcmp(key, "url"))
            continue;
        if (!strcmp(key, "method")) {
            if (!(q->method = sl_value_get_string(f, NULL)) || !*q->method ||
                strpbrk(q->method, " \r\n"))
                return sl_task_fail(ctx, "http: 'method' must be a method "
                                         "such as GET or POST");
        } else if (!strcmp(key, "body")) {
            if (sl_value_type(f) == SL_STRING)
                q->body = sl_value_get_string(f, &q->body_size);
            else if (sl_value_type(f) == SL_BYTES)
                q->body = sl_value_get_bytes(f, &q->body_size);
            else
                return sl_task_fail(ctx, "http: 'body' must be a string or "
                                         "bytes");
        } else if (!strcmp(key, "timeout_ms")) {
            if (sl_value_type(f) != SL_INT || sl_value_get_int(f) < 1)
                return sl_task_fail(ctx, "http: 'timeout_ms' must be an "
                                         "integer >= 1");
            q->timeout_ms = (long)sl_value_get_int(f);
        } else if (!strcmp(key, "insecure") || !strcmp(key, "any_status")) {
            if (sl_value_type(f) != SL_BOOL)
                return sl_task_fail(ctx, "http: '%s' must be true or false",
                                    key);
            if (!strcmp(key, "insecure"))
                q->is_insecure = sl_value_get_bool(f);
            else
                *ok_any_status = sl_value_get_bool(f);
        } else if (!strcmp(key, "headers")) {
            if (sl_value_type(f) != SL_MAP)
                return sl_task_fail(ctx, "http: 'headers' must be a map of "
                                         "Name: value");
            int rc = read_headers(ctx, f, headers);
            if (rc < 0)
                return rc;
        } else {
            return sl_task_fail(ctx,
                                "http: unknown field '%s' (url, method, "
                                "headers, body, timeout_ms, insecure, "
                                "any_status)",
                                key);
        }
    }
    return check_allowed(ctx, "http", q->url);
}

/* Runs e on the thread's multi handle to its end; the cancel is asked
 * every POLL_MS. */
static CURLcode
perform(sl_task_ctx_t *ctx, CURLM *m, CURL *e, bool *cancelled)
{
    CURLcode result = CURLE_OK;
    if (curl_multi_add_handle(m, e) != CURLM_OK)
        return CURLE_OUT_OF_MEMORY;
    for (bool done = false; !done;) {
        int running, left, n;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left)))
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == e) {
                result = msg->data.result;
                done = true;
            }
        if (!done && (*cancelled = sl_task_is_cancelled(ctx)))
            break;
        if (!done)
            curl_multi_poll(m, NULL, 0, POLL_MS, &n);
    }
    curl_multi_remove_handle(m, e);
    return result;
}

static int
task_http(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    sl_http_request_t q = {0};
    struct curl_slist *headers = NULL;
    bool any_status = false, cancelled = false;
    response_t r = {0};
    sl_error_t err = {0};
    CURLM *m = thread_multi();
    CURL *e = m ? curl_easy_init() : NULL;
    int rc = read_call(ctx, args, &q, &headers, &any_status);
    q.headers = headers;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (rc == 0 && !e)
        rc = sl_task_fail(ctx, "http: out of memory");
    if (rc == 0 && sl_http_request_setup(e, &q, keep_body, &r, &err) < 0)
        rc = sl_task_fail(ctx, "http: %s", err.msg);
    CURLcode code = rc == 0 ? perform(ctx, m, e, &cancelled) : CURLE_OK;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long status = 0;
    if (rc == 0 && cancelled)
        rc = sl_task_fail(ctx, "cancelled");
    else if (rc == 0 && r.is_over)
        rc = sl_task_fail(ctx, "http: %s %s: the response is over %u bytes",
                          q.method, q.url, BODY_MAX_BYTES);
    else if (rc == 0 && code != CURLE_OK)
        rc = sl_task_fail(ctx, "http: %s %s: %s: %s", q.method, q.url,
                          sl_load_error_name(sl_http_error_kind(code)),
                          curl_easy_strerror(code));
    if (rc == 0)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    if (rc == 0 && status >= 400 && !any_status)
        rc = sl_task_fail(ctx, "http: %s %s answered %ld", q.method, q.url,
                          status);
    if (rc == 0) {
        char *type = NULL;
        curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &type);
        bool is_text =
            sl_value_is_utf8(r.body.data ? r.body.data : "", r.body.size);
        sl_value_t *v = sl_value_new_map(),
                   *body =
                       is_text
                           ? sl_value_new_string_len(r.body.data ? r.body.data
                                                                 : "",
                                                     r.body.size)
                           : sl_value_new_bytes(r.body.data, r.body.size);
        int64_t us = (t1.tv_sec - t0.tv_sec) * 1000000ll +
                     (t1.tv_nsec - t0.tv_nsec) / 1000;
        if (!v || !body || sl_value_put_int(v, "status", status) < 0 ||
            sl_value_put_string(v, "content_type", type ? type : "") < 0 ||
            sl_value_put_int(v, "latency_us", us) < 0 ||
            sl_value_put_int(v, "bytes_in", (int64_t)r.body.size) < 0 ||
            sl_value_put_int(v, "bytes_out", (int64_t)q.body_size) < 0 ||
            sl_value_put(v, "body", &body) < 0) {
            sl_value_destroy(&v);
            rc = sl_task_fail(ctx, "http: out of memory");
        }
        sl_value_destroy(&body);
        *result = v;
    }
    if (e)
        curl_easy_cleanup(e);
    curl_slist_free_all(headers);
    sl_buf_fini(&r.body);
    return rc;
}

/* ---- load@1 ------------------------------------------------------------- */

/* load(scenario, worker, workers, start_unix_us): a share's figures. */
static int
task_load(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    sl_load_spec_t spec;
    sl_error_t err = {0};
    const sl_value_t *w = sl_value_at(args, 1), *n = sl_value_at(args, 2),
                     *start = sl_value_at(args, 3);
    if (sl_value_count(args) != 4 || sl_value_type(w) != SL_INT ||
        sl_value_type(n) != SL_INT || sl_value_type(start) != SL_INT ||
        sl_value_get_int(n) < 1 || sl_value_get_int(n) > 100000 ||
        sl_value_get_int(w) < 0 || sl_value_get_int(w) >= sl_value_get_int(n))
        return sl_task_fail(ctx, "load: takes a scenario, the share's index, "
                                 "the number of shares and its start (unix "
                                 "us)");
    if (ctx->attempt > 1) /* its requests would go twice, and late */
        return sl_task_fail(ctx, "load: a share runs once: its attempt 1 "
                                 "was lost (its worker died or left)");
    if (sl_load_spec_read(&spec, sl_value_at(args, 0), "load", &err) < 0)
        return sl_task_fail(ctx, "%s", err.msg);
    const char *origins[SL_LOAD_MAX_REQUESTS];
    size_t count = sl_load_origins(&spec, origins, SL_LOAD_MAX_REQUESTS);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = check_allowed(ctx, "load", origins[i]);
    uint32_t shares = (uint32_t)sl_value_get_int(n);
    sl_load_share_t share = {
        .spec = &spec,
        .worker = (uint32_t)sl_value_get_int(w),
        .workers = shares,
        .start_unix_us = sl_value_get_int(start),
        .connections = (spec.connections + shares - 1) / shares,
        .multi = thread_multi(),
        .stop = is_cancelled,
        .progress = report,
        .ctx = ctx,
    };
    sl_load_stats_t stats;
    if (rc == 0 && (!share.multi || sl_load_stats_init(&stats) < 0))
        rc = sl_task_fail(ctx, "load: out of memory");
    else if (rc == 0) {
        if (sl_load_share_run(&share, &stats, &err) < 0)
            rc = sl_task_fail(ctx, "load: %s", err.msg);
        else if (sl_task_is_cancelled(ctx))
            rc = sl_task_fail(ctx, "cancelled");
        else if (!(*result = sl_load_stats_to_value(&stats)))
            rc = sl_task_fail(ctx, "load: out of memory");
        sl_load_stats_fini(&stats);
    }
    sl_load_spec_fini(&spec);
    return rc;
}

int
sl_http_tasks_register(sl_registry_t *reg, sl_error_t *err)
{
    static const sl_task_def_t defs[] = {
        {"http", 1, task_http,
         "one HTTP request its --http-allow rules allow: status, body, "
         "latency"},
        {"load", 1, task_load,
         "a share of a `sluice load` test: its latency histogram and counts"},
    };
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
        int rc = sl_registry_add(reg, &defs[i], err);
        if (rc < 0)
            return rc;
    }
    return 0;
}
