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
    const char *request;  /* sent as is */
    char response[4096];  /* what came back, NUL-terminated */
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
        while ((n = read(fd, c->response + got,
                         sizeof c->response - 1 - got)) > 0)
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
    zpoller_t *poller = zpoller_new(sl_http_sock(h), NULL);
    while (!c.is_done) {
        if (zpoller_wait(poller, 20) && !is_deaf)
            sl_http_answer(h, answer, asked);
    }
    zpoller_destroy(&poller);
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
    char *r = exchange(h, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n"
                          "\r\n", false, &asked);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
