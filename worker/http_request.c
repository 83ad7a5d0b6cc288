/* worker/http_request.c: the --http-allow rules, and one request set up
 * on a libcurl easy handle. */
#include "http_request.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* host and port of an origin (port the scheme's default if not given). */
static bool
split_origin(const char *origin, char *host, size_t size, long *port)
{
    bool is_tls = !strncmp(origin, "https://", 8);
    const char *h = origin + (is_tls ? 8 : 7), *colon;
    if (!is_tls && strncmp(origin, "http://", 7))
        return false;
    if (*h == '[') { /* [v6]:port */
        const char *close = strchr(h, ']');
        if (!close)
            return false;
        colon = close[1] == ':' ? close + 1 : NULL;
        h++;
        snprintf(host, size, "%.*s", (int)(close - h), h);
    } else {
        colon = strchr(h, ':');
        snprintf(host, size, "%.*s",
                 (int)(colon ? (size_t)(colon - h) : strlen(h)), h);
    }
    *port = is_tls ? 443 : 80;
    if (colon) {
        char *end;
        *port = strtol(colon + 1, &end, 10);
        if (*end || *port < 1 || *port > 65535)
            return false;
    }
    return *host != '\0';
}

bool
sl_http_origin_rule(const char *origin, char *out, size_t size)
{
    char host[256];
    long port;
    if (!split_origin(origin, host, sizeof host, &port))
        return false;
    int n = snprintf(out, size, strchr(host, ':') ? "[%s]:%ld" : "%s:%ld", host,
                     port);
    return n > 0 && (size_t)n < size;
}

bool
sl_http_origin(const char *url, char *out, size_t size)
{
    size_t skip = !strncmp(url, "http://", 7)    ? 7
                  : !strncmp(url, "https://", 8) ? 8
                                                 : 0;
    size_t host = skip ? strcspn(url + skip, "/?#") : 0;
    if (!host || memchr(url + skip, '@', host) || skip + host >= size)
        return false;
    snprintf(out, size, "%.*s", (int)(skip + host), url);
    return true;
}

/* A rule's host and port (0: any). */
static bool
split_rule(const char *rule, char *host, size_t size, long *port)
{
    const char *colon = strrchr(rule, ':');
    const char *close = strrchr(rule, ']');
    *port = 0;
    if (colon && (!close || colon > close)) {
        char *end;
        *port = strtol(colon + 1, &end, 10);
        if (*end || *port < 1 || *port > 65535)
            return false;
    } else {
        colon = NULL;
    }
    size_t n = colon ? (size_t)(colon - rule) : strlen(rule);
    if (n >= 2 && rule[0] == '[' && rule[n - 1] == ']')
        rule++, n -= 2;
    if (n == 0 || n >= size)
        return false;
    snprintf(host, size, "%.*s", (int)n, rule);
    for (const char *c = host; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr(".-_:*", *c))
            return false;
    return !strchr(host + 1, '*') &&
           (host[0] != '*' || !host[1] || (host[1] == '.' && host[2]));
}

int
sl_http_rule_check(const char *rule, sl_error_t *err)
{
    char host[SL_HTTP_RULE_MAX_BYTES + 1];
    long port;
    if (strlen(rule) > SL_HTTP_RULE_MAX_BYTES ||
        !split_rule(rule, host, sizeof host, &port))
        return sl_error_set(err, SL_EINVAL,
                            "--http-allow '%s': a rule is HOST, HOST:PORT, "
                            "*.DOMAIN[:PORT] or '*'",
                            rule);
    return 0;
}

bool
sl_http_allowed(const sl_http_rules_t *r, const char *origin)
{
    char host[256], want[SL_HTTP_RULE_MAX_BYTES + 1];
    long port, want_port;
    if (!split_origin(origin, host, sizeof host, &port))
        return false;
    for (size_t i = 0; i < r->count; i++) {
        if (!split_rule(r->rules[i], want, sizeof want, &want_port) ||
            (want_port && want_port != port))
            continue;
        if (!strcmp(want, "*") || !strcasecmp(want, host))
            return true;
        size_t hn = strlen(host), wn = strlen(want);
        if (want[0] == '*' && hn > wn - 1 &&
            !strcasecmp(host + hn - (wn - 1), want + 1))
            return true; /* *.example.com: a.example.com, not example.com */
    }
    return false;
}

#define SET(opt, val)                                                          \
    do {                                                                       \
        CURLcode c_ = curl_easy_setopt(e, opt, val);                           \
        if (c_ != CURLE_OK)                                                    \
            return sl_error_set(err, SL_EINVAL, "libcurl: %s: %s", #opt,       \
                                curl_easy_strerror(c_));                       \
    } while (0)

int
sl_http_request_setup(CURL *e, const sl_http_request_t *q,
                      curl_write_callback write_fn, void *ctx, sl_error_t *err)
{
    curl_easy_reset(e);
    SET(CURLOPT_URL, q->url);
    SET(CURLOPT_PROXY, ""); /* never through $http_proxy */
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TIMEOUT_MS, q->timeout_ms);
    SET(CURLOPT_WRITEFUNCTION, write_fn);
    SET(CURLOPT_WRITEDATA, ctx);
    SET(CURLOPT_HTTPHEADER, q->headers);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    SET(CURLOPT_SSL_VERIFYPEER, q->is_insecure ? 0L : 1L);
    SET(CURLOPT_SSL_VERIFYHOST, q->is_insecure ? 0L : 2L);
    if (strcmp(q->method, "GET"))
        SET(CURLOPT_CUSTOMREQUEST, q->method);
    if (!strcmp(q->method, "HEAD"))
        SET(CURLOPT_NOBODY, 1L);
    if (q->body) {
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_size);
        SET(CURLOPT_POSTFIELDS, q->body);
    }
    return 0;
}

sl_load_error_t
sl_http_error_kind(CURLcode code)
{
    switch (code) {
    case CURLE_COULDNT_CONNECT: return SL_LOAD_ERR_REFUSED;
    case CURLE_OPERATION_TIMEDOUT: return SL_LOAD_ERR_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return SL_LOAD_ERR_DNS;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE: return SL_LOAD_ERR_TLS;
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE: return SL_LOAD_ERR_CONNECTION;
    default: return SL_LOAD_ERR_OTHER;
    }
}
