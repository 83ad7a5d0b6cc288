/* common/http.c: the HTTP port, on libmicrohttpd's own polling thread
 * (one thread, so its PAIR socket has one user). Each GET is sent to the
 * loop as [seq, path] and answered as [seq, status, content type, body];
 * an answer to an older request that timed out is dropped by its seq.
 * microhttpd.h is included here only. Never touches the loop's state. */
#include "http.h"

#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* How long the HTTP thread waits for the loop's answer. */
#define ANSWER_MS 1000
/* Connections at once, and how long an idle one is kept (s). */
#define CONNECTIONS_MAX 64
#define IDLE_S          10
/* The most of an answer's body sl_http_get keeps. */
#define GET_BODY_MAX (64 * 1024)

struct sl_http {
    struct MHD_Daemon *daemon; /* its thread serves the port */
    zsock_t *loop_side;        /* PAIR: the loop's end */
    zsock_t *http_side;        /* PAIR: the HTTP thread's end */
    uint64_t seq;              /* HTTP thread: the request asked last */
    uint16_t port;             /* listened on */
};

int
sl_http_parse_address(const char *text, char *host, size_t host_size,
                      uint16_t *port, sl_error_t *err)
{
    const char *colon = text ? strrchr(text, ':') : NULL;
    const char *digits = colon ? colon + 1 : text;
    char *end = NULL;
    unsigned long n = digits && *digits ? strtoul(digits, &end, 10) : 0;
    size_t host_len = colon ? (size_t)(colon - text) : 0;
    if (!digits || !*digits || *end || n > 65535 || host_len >= host_size ||
        strspn(digits, "0123456789") != strlen(digits))
        return sl_error_set(err, SL_EINVAL,
                            "HTTP address '%s': want [HOST:]PORT, PORT 0 to "
                            "65535",
                            text ? text : "");
    memcpy(host, text, host_len);
    host[host_len] = '\0';
    *port = (uint16_t)n;
    return 0;
}

/* A listening TCP socket on host:port (host "" or "*": every address), so
 * that a failure names its reason; -1 with err set. */
static int
listen_on(const char *address, const char *host, uint16_t port, sl_error_t *err)
{
    struct addrinfo hints = {.ai_family = AF_INET,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE},
                    *ai = NULL;
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    bool is_any = !*host || !strcmp(host, "*");
    int rc = getaddrinfo(is_any ? NULL : host, service, &hints, &ai);
    if (rc != 0) {
        sl_error_set(err, SL_EINVAL, "HTTP address '%s': %s", address,
                     gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
        listen(fd, 64) < 0) {
        sl_error_set(err, SL_EIO, "HTTP address '%s': %s", address,
                     strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* Asks the loop about path: its answer, or NULL if it did not come in
 * time. */
static zmsg_t *
ask_loop(sl_http_t *h, const char *path)
{
    uint64_t seq = ++h->seq;
    zmsg_t *ask = zmsg_new();
    zmsg_addmem(ask, &seq, sizeof seq);
    zmsg_addstr(ask, path);
    if (zmsg_send(&ask, h->http_side) != 0) {
        zmsg_destroy(&ask);
        return NULL;
    }
    int64_t deadline = zclock_mono() + ANSWER_MS;
    zpoller_t *poller = zpoller_new(h->http_side, NULL);
    zmsg_t *answer = NULL;
    while (poller && !answer) {
        int64_t left = deadline - zclock_mono();
        if (left <= 0 || !zpoller_wait(poller, (int)left))
            break;
        answer = zmsg_recv(h->http_side);
        zframe_t *f = answer ? zmsg_first(answer) : NULL;
        bool is_ours = f && zframe_size(f) == sizeof seq &&
                       !memcmp(zframe_data(f), &seq, sizeof seq) &&
                       zmsg_size(answer) == 4;
        if (!is_ours)
            zmsg_destroy(&answer); /* a late answer to an older request */
    }
    zpoller_destroy(&poller);
    return answer;
}

static enum MHD_Result
send_text(struct MHD_Connection *c, unsigned status, const char *type,
          const void *body, size_t size)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(size, (void *)body,
                                        MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            type ? type : "text/plain; charset=utf-8");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
           const char *method, const char *version, const char *upload,
           size_t *upload_size, void **state)
{
    sl_http_t *h = cls;
    (void)version;
    (void)upload;
    (void)state;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
        strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        static const char msg[] = "only GET and HEAD are served here\n";
        return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, NULL, msg,
                         sizeof msg - 1);
    }
    *upload_size = 0; /* a GET's body, if any, is ignored */
    zmsg_t *answer = ask_loop(h, url);
    if (!answer) {
        static const char msg[] = "the loop did not answer within a second\n";
        return send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, msg,
                         sizeof msg - 1);
    }
    zframe_destroy(&(zframe_t *){zmsg_pop(answer)}); /* the seq */
    char *status = zmsg_popstr(answer), *type = zmsg_popstr(answer);
    zframe_t *body = zmsg_pop(answer);
    enum MHD_Result rc = send_text(c, (unsigned)atoi(status ? status : "500"),
                                   type && *type ? type : NULL,
                                   zframe_data(body), zframe_size(body));
    free(status);
    free(type);
    zframe_destroy(&body);
    zmsg_destroy(&answer);
    return rc;
}

sl_http_t *
sl_http_new(const char *address, sl_error_t *err)
{
    char host[256], endpoint[64];
    uint16_t port;
    if (sl_http_parse_address(address, host, sizeof host, &port, err) < 0)
        return NULL;
    sl_http_t *h = calloc(1, sizeof *h);
    if (!h) {
        sl_error_set(err, SL_ENOMEM, "out of memory");
        return NULL;
    }
    /* a new name each time: a closed socket's inproc name is freed by
     * libzmq's reaper, later, so the same pointer's name may be taken */
    static _Atomic unsigned made;
    snprintf(endpoint, sizeof endpoint, "inproc://sluice-http-%u", ++made);
    h->loop_side = zsock_new(ZMQ_PAIR);
    h->http_side = zsock_new(ZMQ_PAIR);
    if (!h->loop_side || !h->http_side ||
        zsock_bind(h->loop_side, "%s", endpoint) != 0 ||
        zsock_connect(h->http_side, "%s", endpoint) != 0) {
        sl_error_set(err, SL_ENOMEM, "out of memory");
        sl_http_destroy(&h);
        return NULL;
    }
    int fd = listen_on(address, host, port, err);
    if (fd < 0) {
        sl_http_destroy(&h);
        return NULL;
    }
    struct sockaddr_in bound;
    socklen_t len = sizeof bound;
    getsockname(fd, (struct sockaddr *)&bound, &len);
    h->port = ntohs(bound.sin_port);
    h->daemon =
        MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD, 0, NULL, NULL,
                         on_request, h, MHD_OPTION_LISTEN_SOCKET, fd,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTIONS_MAX,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_S,
                         MHD_OPTION_END);
    if (!h->daemon) {
        close(fd);
        sl_error_set(err, SL_EIO,
                     "HTTP address '%s': libmicrohttpd did not start", address);
        sl_http_destroy(&h);
    }
    return h;
}

void
sl_http_destroy(sl_http_t **p)
{
    if (!p || !*p)
        return;
    sl_http_t *h = *p;
    if (h->daemon)
        MHD_stop_daemon(h->daemon); /* joins its thread, closes the port */
    zsock_destroy(&h->http_side);
    zsock_destroy(&h->loop_side);
    free(h);
    *p = NULL;
}

zsock_t *
sl_http_sock(sl_http_t *h)
{
    return h->loop_side;
}

uint16_t
sl_http_port(const sl_http_t *h)
{
    return h->port;
}

void
sl_http_page(const char *path, sl_http_reply_t *reply, sl_http_metrics_fn fn,
             void *ctx, const char *not_ready)
{
    if (!strcmp(path, "/metrics")) {
        reply->status = fn(ctx, &reply->body) == 0 ? 200 : 500;
        reply->content_type = SL_METRICS_CONTENT_TYPE;
    } else if (!strcmp(path, "/healthz")) {
        reply->status = 200;
        sl_buf_printf(&reply->body, "ok\n");
    } else if (!strcmp(path, "/readyz")) {
        reply->status = not_ready ? 503 : 200;
        sl_buf_printf(&reply->body, "%s\n", not_ready ? not_ready : "ready");
    } else {
        reply->status = 404;
        sl_buf_printf(&reply->body, "no such page: /metrics, /healthz and "
                                    "/readyz are served\n");
    }
}

void
sl_http_describe(const sl_http_t *h, const char *address, char *out,
                 size_t size)
{
    char host[256] = "";
    uint16_t port;
    sl_http_parse_address(address, host, sizeof host, &port, NULL);
    snprintf(out, size, "%s:%u", *host ? host : "*", h->port);
}

void
sl_http_answer(sl_http_t *h, sl_http_answer_fn fn, void *ctx)
{
    zmsg_t *ask = zmsg_recv(h->loop_side);
    zframe_t *seq = ask ? zmsg_pop(ask) : NULL;
    char *path = ask ? zmsg_popstr(ask) : NULL;
    sl_http_reply_t reply = {.status = 404};
    if (seq && path)
        fn(path, &reply, ctx);
    zmsg_t *answer = seq ? zmsg_new() : NULL;
    if (answer) {
        zmsg_append(answer, &seq);
        zmsg_addstrf(answer, "%d", reply.status);
        zmsg_addstr(answer, reply.content_type ? reply.content_type : "");
        zmsg_addmem(answer, reply.body.data, reply.body.size);
        zmsg_send(&answer, h->loop_side);
    }
    zframe_destroy(&seq);
    sl_buf_fini(&reply.body);
    free(path);
    zmsg_destroy(&ask);
}

/* Waits until fd is ready for events or deadline (zclock_mono ms) passes:
 * 0 ready, -1 timed out or failed. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    for (;;) {
        int64_t left = deadline - zclock_mono();
        if (left <= 0)
            return -1;
        int n = poll(&pfd, 1, (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

/* A TCP connection to host:port begun without blocking; -1 with err set. */
static int
dial(const char *address, const char *host, uint16_t port, sl_error_t *err)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM},
                    *ai = NULL;
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    bool is_here = !*host || !strcmp(host, "*") || !strcmp(host, "0.0.0.0");
    int rc = getaddrinfo(is_here ? "127.0.0.1" : host, service, &hints, &ai);
    if (rc != 0) {
        sl_error_set(err, SL_EINVAL, "HTTP address '%s': %s", address,
                     gai_strerror(rc));
        return -1;
    }
    int fd =
        socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
                   errno != EINPROGRESS)) {
        sl_error_set(err, SL_EIO, "HTTP %s: %s", address, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* The status of an HTTP/1.x status line at the start of text, or -1. */
static int
parse_status(const char *text)
{
    int status = -1;
    if (strncmp(text, "HTTP/1.", 7) ||
        sscanf(text + 7, "%*c %3d", &status) != 1)
        return -1;
    return status >= 100 && status <= 599 ? status : -1;
}

int
sl_http_get(const char *address, const char *path, int timeout_ms, int *status,
            sl_buf_t *body, sl_error_t *err)
{
    char host[256];
    uint16_t port;
    if (sl_http_parse_address(address, host, sizeof host, &port, err) < 0)
        return SL_EINVAL;
    if (port == 0)
        return sl_error_set(err, SL_EINVAL,
                            "HTTP address '%s': give the port to ask, not 0",
                            address);
    int64_t deadline = zclock_mono() + timeout_ms;
    int fd = dial(address, host, port, err);
    if (fd < 0)
        return err ? err->code : SL_EIO;
    sl_buf_t request = {0}, answer = {0};
    sl_buf_printf(&request,
                  "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n",
                  path, *host && strcmp(host, "*") ? host : "localhost");
    int rc = 0, so_error = 0;
    socklen_t len = sizeof so_error;
    if (wait_fd(fd, POLLOUT, deadline) < 0)
        rc = sl_error_set(err, SL_ETIMEDOUT, "HTTP %s: no connection in %d ms",
                          address, timeout_ms);
    else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) < 0 ||
             so_error != 0)
        rc = sl_error_set(err, SL_EIO, "HTTP %s: %s", address,
                          strerror(so_error ? so_error : errno));
    else if (send(fd, request.data, request.size, MSG_NOSIGNAL) !=
             (ssize_t)request.size)
        rc = sl_error_set(err, SL_EIO, "HTTP %s: %s", address, strerror(errno));
    /* HTTP/1.0 with Connection: close: the answer ends where the stream
     * does */
    while (rc == 0) {
        char chunk[4096];
        if (wait_fd(fd, POLLIN, deadline) < 0) {
            rc = sl_error_set(err, SL_ETIMEDOUT,
                              "HTTP %s%s: no whole answer in %d ms", address,
                              path, timeout_ms);
            break;
        }
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n == 0)
            break;
        if (n < 0 && errno != EINTR && errno != EAGAIN)
            rc = sl_error_set(err, SL_EIO, "HTTP %s: %s", address,
                              strerror(errno));
        else if (n > 0 && answer.size < GET_BODY_MAX + 4096)
            sl_buf_append(&answer, chunk, (size_t)n);
    }
    close(fd);
    sl_buf_fini(&request);
    const char *text = answer.data ? answer.data : "";
    const char *start = strstr(text, "\r\n\r\n");
    int code = rc == 0 ? parse_status(text) : -1;
    if (rc == 0 && (code < 0 || !start))
        rc = sl_error_set(err, SL_EIO, "HTTP %s%s: the answer is not HTTP",
                          address, path);
    if (rc == 0) {
        *status = code;
        size_t size = strlen(start + 4);
        sl_buf_append(body, start + 4,
                      size < GET_BODY_MAX ? size : GET_BODY_MAX);
    }
    sl_buf_fini(&answer);
    return rc;
}
