/* worker/http_request.h: what the http tasks share (docs/LOAD.md): the
 * --http-allow rules that say where a worker may send, one libcurl easy
 * handle set up for a request, and a failed transfer's error kind. */
#ifndef SL_HTTP_REQUEST_H
#define SL_HTTP_REQUEST_H

#include "error.h"
#include "load_stats.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#define SL_HTTP_RULES_MAX_COUNT 64
#define SL_HTTP_RULE_MAX_BYTES  255

/* A worker's --http-allow rules: HOST, HOST:PORT, *.DOMAIN[:PORT], or
 * '*' for anywhere. None: no http tasks. */
typedef struct sl_http_rules {
    char *const *rules;
    size_t count;
} sl_http_rules_t;

/* Whether a rule is well formed; SL_EINVAL saying why not. */
int sl_http_rule_check(const char *rule, sl_error_t *err);

/* Whether origin (scheme://host[:port]) is one the rules allow. */
bool sl_http_allowed(const sl_http_rules_t *r, const char *origin);

/* The rule that allows exactly origin (HOST:PORT, the port the scheme's
 * default if not written; [V6]:PORT) into out; false for a bad origin. */
bool sl_http_origin_rule(const char *origin, char *out, size_t size);

/* The origin url starts with (scheme://host[:port]) into out; false when
 * url is not http:// or https:// with a host. */
bool sl_http_origin(const char *url, char *out, size_t size);

/* What a request is. */
typedef struct {
    const char *method;         /* "GET", "POST", ... */
    const char *url;            /* its origin allowed already */
    struct curl_slist *headers; /* "Name: value"; borrowed, may be NULL */
    const char *body;           /* NULL: none */
    size_t body_size;
    long timeout_ms;  /* the whole transfer */
    bool is_insecure; /* TLS certificates not checked */
} sl_http_request_t;

/* Sets e (reset first) for q: no proxy, no redirects followed, no
 * signals, TLS verified unless is_insecure, HTTP/2 over TLS where the
 * library has it. The response body goes to write_fn(data, ctx). 0, or
 * SL_EINVAL when libcurl refuses an option (named in err). */
int sl_http_request_setup(CURL *e, const sl_http_request_t *q,
                          curl_write_callback write_fn, void *ctx,
                          sl_error_t *err);

/* A failed transfer's kind. */
sl_load_error_t sl_http_error_kind(CURLcode code);

#endif
