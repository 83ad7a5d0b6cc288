/* tests/unit/test_load_share.c: one load share's loop (worker/load_share.c)
 * against a small HTTP server on a thread of this test, on loopback: it
 * sends its share of the schedule and no other, counts statuses, refusals
 * and timeouts, and stop() ends it at once, counting what it never sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "flow.h"
#include "load_share.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 128

/* The server: answers each request (up to its blank line) with 200 "ok",
 * or 503 when its path starts /fail; when silent, accepts and never
 * answers. */
typedef struct {
    int listener, stop[2];
    bool is_silent;
    uint16_t port;
    pthread_t thread;
} server_t;

static void *
serve(void *arg)
{
    server_t *s = arg;
    struct pollfd fds[MAX_CLIENTS + 2] = {{s->stop[0], POLLIN, 0},
                                          {s->listener, POLLIN, 0}};
    char buf[MAX_CLIENTS + 2][4096];
    size_t have[MAX_CLIENTS + 2] = {0};
    nfds_t n = 2;
    for (;;) {
        if (poll(fds, n, -1) < 0 || fds[0].revents)
            break;
        if (fds[1].revents && n < MAX_CLIENTS + 2) {
            fds[n] =
                (struct pollfd){accept(s->listener, NULL, NULL), POLLIN, 0};
            have[n++] = 0;
        }
        for (nfds_t i = 2; i < n; i++) {
            if (!fds[i].revents)
                continue;
            ssize_t got =
                read(fds[i].fd, buf[i] + have[i], sizeof buf[i] - have[i] - 1);
            if (got <= 0) {
                close(fds[i].fd);
                fds[i] = fds[--n];
                have[i--] = have[n];
                continue;
            }
            have[i] += (size_t)got;
            buf[i][have[i]] = '\0';
            char *end;
            while (!s->is_silent && (end = strstr(buf[i], "\r\n\r\n"))) {
                const char *reply =
                    strstr(buf[i], " /fail") == strchr(buf[i], ' ')
                        ? "HTTP/1.1 503 No\r\nContent-Length: 2\r\n\r\nno"
                        : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                if (write(fds[i].fd, reply, strlen(reply)) < 0)
                    break;
                size_t used = (size_t)(end + 4 - buf[i]);
                memmove(buf[i], end + 4, have[i] - used + 1);
                have[i] -= used;
            }
        }
    }
    for (nfds_t i = 2; i < n; i++)
        close(fds[i].fd);
    return NULL;
}

static void
server_start(server_t *s, bool is_silent)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    s->is_silent = is_silent;
    s->listener = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->listener >= 0);
    assert_int_equal(bind(s->listener, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->listener, 256), 0);
    getsockname(s->listener, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pipe(s->stop), 0);
    pthread_create(&s->thread, NULL, serve, s);
}

static void
server_stop(server_t *s)
{
    assert_int_equal(write(s->stop[1], "x", 1), 1);
    pthread_join(s->thread, NULL);
    close(s->listener);
    close(s->stop[0]);
    close(s->stop[1]);
}

/* A port nothing listens on. */
static uint16_t
closed_port(void)
{
    server_t s;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    (void)s;
    return ntohs(a.sin_port);
}

static void
spec_of(sl_load_spec_t *spec, const char *yaml)
{
    sl_value_t *v = NULL;
    sl_error_t err = {0};
    if (sl_flow_parse_value(yaml, &v, &err) < 0 ||
        sl_load_spec_read(spec, v, "test", &err) < 0)
        fail_msg("%s", err.msg);
    sl_value_destroy(&v);
}

static int64_t
unix_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
run_share(const sl_load_spec_t *spec, uint32_t w, uint32_t n,
          bool (*stop)(void *), void *ctx, sl_load_stats_t *stats)
{
    CURLM *m = curl_multi_init();
    sl_error_t err = {0};
    sl_load_share_t share = {.spec = spec,
                             .worker = w,
                             .workers = n,
                             .start_unix_us = unix_us() + 20000,
                             .connections = spec->connections,
                             .multi = m,
                             .stop = stop,
                             .ctx = ctx};
    assert_int_equal(sl_load_stats_init(stats), 0);
    if (sl_load_share_run(&share, stats, &err) < 0)
        fail_msg("%s", err.msg);
    curl_multi_cleanup(m);
}

static void
test_load_share_sends_its_share_and_counts_statuses(void **state)
{
    (void)state;
    server_t s;
    server_start(&s, false);
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "{requests: [{url: 'http://127.0.0.1:%u/ok', weight: 3}, "
             "{url: 'http://127.0.0.1:%u/fail'}], rate: 400, duration: 1s}",
             s.port, s.port);
    sl_load_spec_t spec;
    spec_of(&spec, yaml);
    sl_load_stats_t st;
    run_share(&spec, 1, 2, NULL, NULL, &st); /* the odd requests */
    assert_int_equal(st.scheduled, 200);
    assert_int_equal(st.sent, 200);
    assert_int_equal(st.answered, 200);
    assert_int_equal(st.unsent, 0);
    assert_int_equal(st.by_status[200] + st.by_status[503], 200);
    size_t fail = 0; /* the very requests the scenario picks for k odd */
    for (uint64_t k = 1; k < 400; k += 2)
        fail += sl_load_pick(&spec, k) == &spec.requests[1];
    assert_int_equal(st.by_status[503], fail);
    /* and by request: the 503s are all /fail's */
    assert_int_equal(st.request_count, 2);
    assert_int_equal(st.requests[1].sent, fail);
    assert_int_equal(st.requests[1].failed, fail);
    assert_int_equal(st.requests[0].failed, 0);
    assert_int_equal(st.requests[0].answered + st.requests[1].answered, 200);
    assert_int_equal(sl_hist_count(st.requests[0].latency_us),
                     st.requests[0].answered);
    assert_int_equal(sl_load_stats_failed(&st), fail);
    assert_int_equal(sl_hist_count(st.latency_us), 200);
    assert_true(sl_hist_max(st.latency_us) < 1000000);
    uint64_t sent = 0;
    for (uint32_t i = 0; i < st.second_count; i++)
        sent += st.seconds[i].sent;
    assert_int_equal(sent, 200);
    assert_true(st.bytes_out > 200 * 30 && st.bytes_in > 200 * 30);
    sl_load_stats_fini(&st);
    sl_load_spec_fini(&spec);
    server_stop(&s);
}

static bool
stop_after_300ms(void *ctx)
{
    return mono_ms() >= *(int64_t *)ctx;
}

static void
test_load_share_stops_when_told_and_counts_what_it_never_sent(void **state)
{
    (void)state;
    server_t s;
    server_start(&s, false);
    char yaml[256];
    snprintf(yaml, sizeof yaml,
             "{url: 'http://127.0.0.1:%u/', rate: 100, duration: 10s}", s.port);
    sl_load_spec_t spec;
    spec_of(&spec, yaml);
    sl_load_stats_t st;
    int64_t began = mono_ms(), deadline = began + 300;
    run_share(&spec, 0, 1, stop_after_300ms, &deadline, &st);
    int64_t took = mono_ms() - began;
    assert_true(took >= 300 && took < 1000); /* checked every 20 ms */
    assert_true(st.sent >= 20 && st.sent <= 40);
    assert_int_equal(st.sent + st.unsent, 1000);
    assert_int_equal(st.answered + st.aborted, st.sent);
    sl_load_stats_fini(&st);
    sl_load_spec_fini(&spec);
    server_stop(&s);
}

static void
test_load_share_counts_refusals_and_timeouts(void **state)
{
    (void)state;
    server_t silent;
    server_start(&silent, true);
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "{requests: [{url: 'http://127.0.0.1:%u/'}, {url: "
             "'http://127.0.0.1:%u/'}], rate: 100, duration: 500ms, timeout: "
             "200ms}",
             closed_port(), silent.port);
    sl_load_spec_t spec;
    spec_of(&spec, yaml);
    sl_load_stats_t st;
    int64_t began = mono_ms();
    run_share(&spec, 0, 1, NULL, NULL, &st);
    assert_true(mono_ms() - began < 2000); /* timeouts end the wait */
    assert_int_equal(st.sent, 50);
    assert_int_equal(st.answered, 0);
    assert_true(st.errors[SL_LOAD_ERR_REFUSED] > 0);
    assert_true(st.errors[SL_LOAD_ERR_TIMEOUT] > 0);
    assert_int_equal(st.errors[SL_LOAD_ERR_REFUSED] +
                         st.errors[SL_LOAD_ERR_TIMEOUT],
                     50);
    assert_int_equal(sl_load_stats_failed(&st), 50);
    sl_load_stats_fini(&st);
    sl_load_spec_fini(&spec);
    server_stop(&silent);
}

/* One connection held by a server that never answers: the requests due
 * meanwhile wait, and those still waiting 100 ms after the schedule's end
 * are counted unsent rather than sent after the test. */
static void
test_load_share_drops_what_is_still_unsent_after_the_end(void **state)
{
    (void)state;
    server_t silent;
    server_start(&silent, true);
    char yaml[256];
    snprintf(yaml, sizeof yaml,
             "{url: 'http://127.0.0.1:%u/', rate: 100, duration: 500ms, "
             "timeout: 250ms, connections: 1}",
             silent.port);
    sl_load_spec_t spec;
    spec_of(&spec, yaml);
    sl_load_stats_t st;
    int64_t began = mono_ms();
    run_share(&spec, 0, 1, NULL, NULL, &st);
    int64_t took = mono_ms() - began;
    assert_true(took < 1500); /* the end, a grace, the last timeout */
    assert_int_equal(st.sent + st.unsent, 50);
    assert_true(st.sent >= 2 && st.sent <= 4); /* one per 250 ms */
    assert_int_equal(st.errors[SL_LOAD_ERR_TIMEOUT], st.sent);
    assert_true(st.late >= st.sent - 1); /* each waited for the one before */
    sl_load_stats_fini(&st);
    sl_load_spec_fini(&spec);
    server_stop(&silent);
}

int
main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_share_sends_its_share_and_counts_statuses),
        cmocka_unit_test(
            test_load_share_stops_when_told_and_counts_what_it_never_sent),
        cmocka_unit_test(test_load_share_counts_refusals_and_timeouts),
        cmocka_unit_test(
            test_load_share_drops_what_is_still_unsent_after_the_end),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
