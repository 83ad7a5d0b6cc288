/* tests/unit/test_http.c: the HTTP port (common/http.c), spoken to over a
 * real TCP connection from another thread while this one plays the loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    uint16_t port;
    const char *request; /* sent as is */
    char response[4096]; /* what came back, NUL-terminated */
    volatile int is_done;
} client_t;

static void *
client_thread(void *arg)
{
    client_t *c = arg;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(c->port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    size_t got = 0;
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        write(fd, c->request, strlen(c->request)) > 0) {
        ssize_t n;
        while ((n = read(fd, c->response + got, sizeof c->response - 1 - got)) >
               0)
            got += (size_t)n;
    }
    c->response[got] = '\0';
    if (fd >= 0)
        close(fd);
    c->is_done = 1;
    return NULL;
}

static void
answer(const char *path, sl_http_reply_t *reply, void *ctx)
{
    int *asked = ctx;
    (*asked)++;
    if (!strcmp(path, "/metrics")) {
        reply->status = 200;
        reply->content_type = "text/plain; version=0.0.4";
        sl_buf_printf(&reply->body, "up 1\n");
    } else if (!strcmp(path, "/readyz")) {
        reply->status = 503;
        sl_buf_printf(&reply->body, "not ready: draining\n");
    }
}

/* Plays the loop for h (answering each request, unless is_deaf) until
 * the thread asking it sets *is_done. */
static void
play_loop(sl_http_t *h, volatile int *is_done, bool is_deaf, int *asked)
{
    zpoller_t *poller = zpoller_new(sl_http_sock(h), NULL);
    while (!*is_done) {
        if (zpoller_wait(poller, 20) && !is_deaf)
            sl_http_answer(h, answer, asked);
    }
    zpoller_destroy(&poller);
}

/* Sends request on h's port and plays the loop (answering, unless
 * is_deaf) until the response is in; returns the response. */
static char *
exchange(sl_http_t *h, const char *request, bool is_deaf, int *asked)
{
    static client_t c;
    memset(&c, 0, sizeof c);
    c.port = sl_http_port(h);
    c.request = request;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, client_thread, &c), 0);
    play_loop(h, &c.is_done, is_deaf, asked);
    pthread_join(t, NULL);
    return c.response;
}

static void
test_http_serves_what_the_loop_answers(void **state)
{
    (void)state;
    sl_error_t err = {0};
    int asked = 0;
    sl_http_t *h = sl_http_new("127.0.0.1:0", &err);
    assert_non_null(h);
    assert_true(sl_http_port(h) > 0);
    char *r = exchange(h, "GET /metrics HTTP/1.0\r\n\r\n", false, &asked);
    assert_non_null(strstr(r, " 200 OK\r\n"));
    assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4"));
    assert_non_null(strstr(r, "\r\n\r\nup 1\n"));
    r = exchange(h, "GET /readyz HTTP/1.0\r\n\r\n", false, &asked);
    assert_non_null(strstr(r, " 503 "));
    assert_non_null(strstr(r, "not ready: draining"));
    r = exchange(h, "GET /nothing HTTP/1.0\r\n\r\n", false, &asked);
    assert_non_null(strstr(r, " 404 "));
    assert_int_equal(asked, 3);
    sl_http_destroy(&h);
    assert_null(h);
    sl_http_destroy(&h);
}

/* Only GET and HEAD; the loop is not asked for anything else. */
static void
test_http_refuses_other_methods(void **state)
{
    (void)state;
    sl_error_t err = {0};
    int asked = 0;
    sl_http_t *h = sl_http_new("127.0.0.1:0", &err);
    char *r = exchange(h, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
                       false, &asked);
    assert_non_null(strstr(r, " 405 "));
    assert_non_null(strstr(r, "Allow: GET, HEAD"));
    assert_int_equal(asked, 0);
    sl_http_destroy(&h);
}

/* A loop that does not answer: 503 within about a second; its late
 * answer is not taken for the next request's. */
static void
test_http_deaf_loop_is_503(void **state)
{
    (void)state;
    sl_error_t err = {0};
    int asked = 0;
    sl_http_t *h = sl_http_new("127.0.0.1:0", &err);
    int64_t start = zclock_mono();
    char *r = exchange(h, "GET /metrics HTTP/1.0\r\n\r\n", true, &asked);
    assert_non_null(strstr(r, " 503 "));
    assert_non_null(strstr(r, "did not answer"));
    assert_true(zclock_mono() - start < 3000);
    /* the unanswered request is still queued: answered late, dropped */
    r = exchange(h, "GET /readyz HTTP/1.0\r\n\r\n", false, &asked);
    assert_non_null(strstr(r, " 503 "));
    assert_non_null(strstr(r, "not ready"));
    sl_http_destroy(&h);
}

typedef struct {
    char address[64];
    const char *path;
    int rc, status;
    sl_buf_t body;
    sl_error_t err;
    volatile int is_done;
} getter_t;

static void *
get_thread(void *arg)
{
    getter_t *g = arg;
    g->rc =
        sl_http_get(g->address, g->path, 2000, &g->status, &g->body, &g->err);
    g->is_done = 1;
    return NULL;
}

/* sl_http_get (what `sluice health` runs) against the port, from another
 * thread while this one plays the loop: the status and the page. */
static void
test_http_get_reads_status_and_body(void **state)
{
    (void)state;
    sl_error_t err = {0};
    int asked = 0;
    sl_http_t *h = sl_http_new("127.0.0.1:0", &err);
    const char *paths[] = {"/metrics", "/readyz"};
    for (int i = 0; i < 2; i++) {
        getter_t g = {.path = paths[i]};
        /* no host: this host */
        snprintf(g.address, sizeof g.address, "%u", sl_http_port(h));
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, get_thread, &g), 0);
        play_loop(h, &g.is_done, false, &asked);
        pthread_join(t, NULL);
        assert_int_equal(g.rc, 0);
        assert_int_equal(g.status, i == 0 ? 200 : 503);
        assert_string_equal(g.body.data,
                            i == 0 ? "up 1\n" : "not ready: draining\n");
        sl_buf_fini(&g.body);
    }
    sl_http_destroy(&h);
}

/* Accepts one connection, reads the request, answers in another
 * protocol and closes. */
static void *
liar_thread(void *arg)
{
    int *fds = arg;
    int fd = accept(fds[0], NULL, NULL);
    if (fd >= 0) {
        char request[512];
        ssize_t n = read(fd, request, sizeof request);
        n = write(fd, "SSH-2.0-OpenSSH\r\n", 17);
        (void)n;
        close(fd);
    }
    return NULL;
}

/* A listener on 127.0.0.1 at a free port; its port in *port. */
static int
listener(uint16_t *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 4), 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Nothing listening, a port that never answers, an answer that is not
 * HTTP, a bad address: each an error that names the address. */
static void
test_http_get_failures(void **state)
{
    (void)state;
    sl_error_t err = {0};
    sl_buf_t body = {0};
    int status = 0;
    uint16_t port;
    char address[64];
    int fd = listener(&port);
    snprintf(address, sizeof address, "127.0.0.1:%u", port);
    /* listening, never accepting: the connection is made, no answer */
    assert_int_equal(sl_http_get(address, "/healthz", 200, &status, &body,
                                 &err),
                     SL_ETIMEDOUT);
    assert_non_null(strstr(err.msg, address));
    assert_non_null(strstr(err.msg, "200 ms"));
    close(fd);
    /* closed: refused */
    memset(&err, 0, sizeof err);
    assert_int_equal(sl_http_get(address, "/healthz", 1000, &status, &body,
                                 &err),
                     SL_EIO);
    assert_non_null(strstr(err.msg, "refused"));
    /* another protocol on the port */
    int fds[1] = {listener(&port)};
    snprintf(address, sizeof address, "127.0.0.1:%u", port);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, liar_thread, fds), 0);
    memset(&err, 0, sizeof err);
    assert_int_equal(sl_http_get(address, "/healthz", 2000, &status, &body,
                                 &err),
                     SL_EIO);
    assert_non_null(strstr(err.msg, "not HTTP"));
    pthread_join(t, NULL);
    close(fds[0]);
    const char *bad[] = {"", "host:", "0", "12x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memset(&err, 0, sizeof err);
        assert_int_equal(sl_http_get(bad[i], "/healthz", 1000, &status, &body,
                                     &err),
                         SL_EINVAL);
    }
    assert_int_equal(body.size, 0);
    assert_int_equal(status, 0);
}

/* Bad addresses and a port in use are errors that name the address. */
static void
test_http_bad_address(void **state)
{
    (void)state;
    sl_error_t err = {0};
    const char *bad[] = {"", "abc", "70000", "host:", "1.2.3.4:12x", ":-1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memset(&err, 0, sizeof err);
        assert_null(sl_http_new(bad[i], &err));
        assert_int_equal(err.code, SL_EINVAL);
        assert_non_null(strstr(err.msg, "want [HOST:]PORT"));
    }
    sl_http_t *h = sl_http_new("127.0.0.1:0", &err);
    char taken[64];
    snprintf(taken, sizeof taken, "127.0.0.1:%u", sl_http_port(h));
    memset(&err, 0, sizeof err);
    assert_null(sl_http_new(taken, &err));
    assert_non_null(strstr(err.msg, taken));
    assert_non_null(strstr(err.msg, "in use"));
    memset(&err, 0, sizeof err);
    assert_null(sl_http_new("no-such-host.invalid:9090", &err));
    assert_non_null(strstr(err.msg, "no-such-host.invalid"));
    sl_http_destroy(&h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_serves_what_the_loop_answers),
        cmocka_unit_test(test_http_refuses_other_methods),
        cmocka_unit_test(test_http_deaf_loop_is_503),
        cmocka_unit_test(test_http_bad_address),
        cmocka_unit_test(test_http_get_reads_status_and_body),
        cmocka_unit_test(test_http_get_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
