/* worker/load_share.c: a load share's loop, on libcurl's socket
 * interface: each pass starts every request that is due (while a
 * connection is free), then waits in epoll for the sockets libcurl names,
 * for libcurl's own timeout, or for a timerfd set to the next due time to
 * the nanosecond (epoll's timeout counts in milliseconds); libcurl moves
 * on only the transfers whose sockets are ready, and the ones that ended
 * are counted. */
#include "load_share.h"

#include "http_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define CHECK_MS    20           /* how often stop() is asked at least */
#define EVENTS      64           /* epoll events taken at once */
#define PROGRESS_NS 500000000ull /* how often progress() is called */
/* Requests still unsent this long after the schedule's end are dropped
 * (counted unsent): a backlog is not sent after the test, but a request
 * due just before the end that the loop reaches a little late still
 * goes (counted late). */
#define GRACE_NS 100000000ull

/* A transfer and what it was made of. */
typedef struct slot {
    CURL *easy;
    sl_buf_t url, body;
    struct curl_slist *headers;
    uint64_t due_ns; /* monotonic: when it was meant to go */
    uint64_t bytes_in;
    uint32_t req;                  /* which of the scenario's requests */
    bool is_busy;                  /* on the multi handle */
    const sl_load_request_t *last; /* what the easy handle is set up for */
    struct slot *next_free;
} slot_t;

typedef struct {
    const sl_load_share_t *share;
    sl_load_stats_t *stats;
    slot_t *slots;
    slot_t *free;
    uint32_t in_flight;
    uint64_t start_ns;   /* monotonic time of the schedule's 0 */
    int epoll;           /* libcurl's sockets and the timer */
    int timer;           /* the next due time */
    int64_t curl_due_ns; /* libcurl wants a call by then; -1: no need */
} run_t;

static uint64_t
now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The second of the test that t (monotonic) falls in. */
static uint64_t
second_of(const run_t *r, uint64_t t)
{
    return t > r->start_ns ? (t - r->start_ns) / 1000000000ull : 0;
}

static size_t
count_bytes(char *data, size_t size, size_t n, void *ctx)
{
    (void)data;
    ((slot_t *)ctx)->bytes_in += size * n;
    return size * n;
}

/* libcurl says which events of socket fd it waits for. */
static int
on_socket(CURL *e, curl_socket_t fd, int what, void *ctx, void *socket_ctx)
{
    (void)e;
    (void)socket_ctx;
    run_t *r = ctx;
    struct epoll_event ev = {.data.fd = fd};
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(r->epoll, EPOLL_CTL_DEL, fd, NULL);
        return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) |
                (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    if (epoll_ctl(r->epoll, EPOLL_CTL_MOD, fd, &ev) < 0)
        epoll_ctl(r->epoll, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

/* libcurl wants to be called in timeout_ms (-1: never). */
static int
on_timer(CURLM *m, long timeout_ms, void *ctx)
{
    (void)m;
    run_t *r = ctx;
    r->curl_due_ns = timeout_ms < 0
                         ? -1
                         : (int64_t)(now_ns(CLOCK_MONOTONIC) +
                                     (uint64_t)timeout_ms * 1000000u);
    return 0;
}

/* Sets s's easy handle up for request k, which is q. */
static int
prepare(run_t *r, slot_t *s, const sl_load_request_t *q, uint64_t k,
        sl_error_t *err)
{
    const sl_load_spec_t *spec = r->share->spec;
    uint32_t w = r->share->worker;
    s->url.size = s->body.size = 0;
    curl_slist_free_all(s->headers);
    s->headers = NULL;
    if (sl_load_fill(spec, &q->url, k, w, &s->url) < 0 ||
        (q->body.text && sl_load_fill(spec, &q->body, k, w, &s->body) < 0))
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    for (size_t h = 0; h < q->header_count; h++) {
        sl_buf_t line = {0};
        struct curl_slist *more =
            sl_load_fill(spec, &q->headers[h], k, w, &line) == 0
                ? curl_slist_append(s->headers, line.data)
                : NULL;
        sl_buf_fini(&line);
        if (!more)
            return sl_error_set(err, SL_ENOMEM, "out of memory");
        s->headers = more;
    }
    sl_http_request_t req = {
        .method = q->method,
        .url = s->url.data,
        .headers = s->headers,
        .body = q->body.text ? s->body.data : NULL,
        .body_size = s->body.size,
        .timeout_ms = (long)spec->timeout_ms,
        .is_insecure = spec->is_insecure,
    };
    s->last = NULL;
    if (sl_http_request_setup(s->easy, &req, count_bytes, s, err) < 0)
        return SL_EINVAL;
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    s->last = q;
    return 0;
}

/* Fills s for request k (the one sent last is kept as it is when it has
 * nothing to fill), and adds it to the multi handle. */
static int
start(run_t *r, slot_t *s, uint64_t k, uint64_t due_ns, sl_error_t *err)
{
    const sl_load_spec_t *spec = r->share->spec;
    const sl_load_request_t *q = sl_load_pick(spec, k);
    if (s->last != q || !q->is_literal) {
        int rc = prepare(r, s, q, k, err);
        if (rc < 0)
            return rc;
    }
    s->due_ns = due_ns;
    s->bytes_in = 0;
    s->req = (uint32_t)(q - spec->requests);
    CURLMcode mc = curl_multi_add_handle(r->share->multi, s->easy);
    if (mc != CURLM_OK)
        return sl_error_set(err, SL_EINVAL, "libcurl: %s",
                            curl_multi_strerror(mc));
    r->free = s->next_free;
    s->is_busy = true;
    r->in_flight++;
    uint64_t now = now_ns(CLOCK_MONOTONIC);
    sl_load_stats_sent(r->stats, s->req, second_of(r, now),
                       now > due_ns ? (now - due_ns) / 1000 : 0);
    return 0;
}

/* Counts every transfer that ended and frees its slot. */
static void
reap(run_t *r)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(r->share->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        slot_t *s = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
        uint64_t now = now_ns(CLOCK_MONOTONIC), sec = second_of(r, now);
        long head_out = 0, head_in = 0;
        curl_off_t body_out = 0;
        curl_easy_getinfo(s->easy, CURLINFO_REQUEST_SIZE, &head_out);
        curl_easy_getinfo(s->easy, CURLINFO_SIZE_UPLOAD_T, &body_out);
        curl_easy_getinfo(s->easy, CURLINFO_HEADER_SIZE, &head_in);
        r->stats->bytes_out += (uint64_t)head_out + (uint64_t)body_out;
        if (msg->data.result == CURLE_OK) {
            long status = 0;
            curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
            sl_load_stats_answered(r->stats, s->req, sec, status,
                                   now > s->due_ns ? (now - s->due_ns) / 1000
                                                   : 0,
                                   (uint64_t)head_in + s->bytes_in);
        } else {
            sl_load_stats_error(r->stats, s->req, sec,
                                sl_http_error_kind(msg->data.result));
        }
        curl_multi_remove_handle(r->share->multi, s->easy);
        s->is_busy = false;
        s->next_free = r->free;
        r->free = s;
        r->in_flight--;
    }
}

/* Aborts what is still in flight (the test stopped). */
static void
abort_all(run_t *r, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        slot_t *s = &r->slots[i];
        if (s->is_busy) {
            curl_multi_remove_handle(r->share->multi, s->easy);
            s->is_busy = false;
            r->stats->aborted++;
        }
    }
    r->in_flight = 0;
}

/* Arms fd to fire at monotonic time t (0: disarmed). */
static void
arm(int fd, uint64_t t)
{
    struct itimerspec its = {0};
    its.it_value.tv_sec = (time_t)(t / 1000000000ull);
    its.it_value.tv_nsec = (long)(t % 1000000000ull);
    if (t && its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1;
    timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Counts this share's requests from k on as never sent; returns how far
 * k moves to pass them all. */
static uint64_t
drop(run_t *r, uint64_t k, uint64_t total)
{
    uint64_t n =
        k < total ? (total - k + r->share->workers - 1) / r->share->workers : 0;
    r->stats->unsent += n;
    return n * r->share->workers;
}

/* Lets libcurl act on fd (CURL_SOCKET_TIMEOUT: its timers). */
static int
act(run_t *r, curl_socket_t fd, int events, sl_error_t *err)
{
    int running = 0;
    CURLMcode mc =
        curl_multi_socket_action(r->share->multi, fd, events, &running);
    if (mc != CURLM_OK)
        return sl_error_set(err, SL_EINVAL, "libcurl: %s",
                            curl_multi_strerror(mc));
    reap(r);
    return 0;
}

/* Waits for a socket, the timer or libcurl's timeout (at most CHECK_MS)
 * and lets libcurl act on what is ready. */
static int
wait_and_act(run_t *r, sl_error_t *err)
{
    struct epoll_event ev[EVENTS];
    uint64_t now = now_ns(CLOCK_MONOTONIC);
    int timeout = CHECK_MS;
    if (r->curl_due_ns >= 0) {
        uint64_t due = (uint64_t)r->curl_due_ns;
        uint64_t ms = due > now ? (due - now + 999999) / 1000000 : 0;
        timeout = ms < (uint64_t)timeout ? (int)ms : timeout;
    }
    int n = epoll_wait(r->epoll, ev, EVENTS, timeout);
    for (int i = 0; i < n; i++) {
        if (ev[i].data.fd == r->timer) {
            uint64_t expirations;
            if (read(r->timer, &expirations, sizeof expirations) < 0) {
                /* a disarmed timer's read fails, harmlessly */
            }
            continue;
        }
        int events =
            (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
            (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
            (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
        int rc = act(r, ev[i].data.fd, events, err);
        if (rc < 0)
            return rc;
    }
    if (r->curl_due_ns >= 0 &&
        (uint64_t)r->curl_due_ns <= now_ns(CLOCK_MONOTONIC)) {
        r->curl_due_ns = -1;
        return act(r, CURL_SOCKET_TIMEOUT, 0, err);
    }
    return 0;
}

static int
loop(run_t *r, sl_error_t *err)
{
    const sl_load_share_t *sh = r->share;
    const sl_arrival_t *a = &sh->spec->schedule;
    uint64_t k = sh->worker, next_check = 0, next_progress = 0;
    uint64_t armed = 0, end = r->start_ns + sl_arrival_length_ns(a) + GRACE_NS;
    for (;;) {
        uint64_t now = now_ns(CLOCK_MONOTONIC);
        if (now >= end && k < a->total) /* what is still unsent is dropped */
            k += drop(r, k, a->total);
        if (now >= next_check) {
            if (sh->stop && sh->stop(sh->ctx))
                break;
            next_check = now + CHECK_MS * 1000000ull;
        }
        if (now >= next_progress) {
            if (sh->progress && next_progress)
                sh->progress(sh->ctx, r->stats);
            next_progress = now + PROGRESS_NS;
        }
        bool started = false;
        while (k < a->total && r->free) {
            uint64_t due = r->start_ns + sl_arrival_at(a, k);
            if (due > now)
                break;
            int rc = start(r, r->free, k, due, err);
            if (rc < 0)
                return rc;
            k += sh->workers;
            started = true;
        }
        if (started) { /* libcurl begins what was added */
            int rc = act(r, CURL_SOCKET_TIMEOUT, 0, err);
            if (rc < 0)
                return rc;
        }
        if (k >= a->total && r->in_flight == 0)
            return 0;
        /* Wake at the next due time, if a connection is free for it
         * (one that freed just now may find it due already). */
        uint64_t wake =
            r->free && k < a->total ? r->start_ns + sl_arrival_at(a, k) : 0;
        if (wake && wake <= now_ns(CLOCK_MONOTONIC))
            continue;
        if (wake != armed) {
            arm(r->timer, wake);
            armed = wake;
        }
        int rc = wait_and_act(r, err);
        if (rc < 0)
            return rc;
        if (armed && armed <= now_ns(CLOCK_MONOTONIC))
            armed = 0; /* fired */
    }
    /* Stopped: what was never sent, and what was in flight. */
    drop(r, k, a->total);
    abort_all(r, sh->connections);
    return 0;
}

int
sl_load_share_run(const sl_load_share_t *share, sl_load_stats_t *stats,
                  sl_error_t *err)
{
    run_t r = {.share = share, .stats = stats, .curl_due_ns = -1};
    uint32_t count = share->connections ? share->connections : 1;
    struct epoll_event ev = {.events = EPOLLIN};
    r.timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    r.epoll = epoll_create1(EPOLL_CLOEXEC);
    ev.data.fd = r.timer;
    r.slots = calloc(count, sizeof *r.slots);
    int rc = r.timer >= 0 && r.epoll >= 0 && r.slots &&
                     epoll_ctl(r.epoll, EPOLL_CTL_ADD, r.timer, &ev) == 0
                 ? 0
                 : sl_error_set(err, SL_ENOMEM, "out of memory or timers");
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        if (!(r.slots[i].easy = curl_easy_init()))
            rc = sl_error_set(err, SL_ENOMEM, "libcurl: no easy handle");
        r.slots[i].next_free = r.free;
        r.free = &r.slots[i];
    }
    stats->scheduled =
        sl_arrival_share(&share->spec->schedule, share->worker, share->workers);
    if (rc == 0) {
        CURLM *m = share->multi;
        curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)count);
        curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(m, CURLMOPT_SOCKETDATA, &r);
        curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(m, CURLMOPT_TIMERDATA, &r);
        /* The schedule's 0 on this host's monotonic clock. */
        int64_t real_us = (int64_t)(now_ns(CLOCK_REALTIME) / 1000);
        uint64_t mono = now_ns(CLOCK_MONOTONIC);
        int64_t ahead_ns = (share->start_unix_us - real_us) * 1000;
        r.start_ns = ahead_ns >= 0 || (uint64_t)-ahead_ns < mono
                         ? (uint64_t)((int64_t)mono + ahead_ns)
                         : 1;
        rc = loop(&r, err);
        if (rc < 0)
            abort_all(&r, count);
        /* The multi handle outlives r: no callback may reach it. */
        curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, NULL);
        curl_multi_setopt(m, CURLMOPT_SOCKETDATA, NULL);
        curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, NULL);
        curl_multi_setopt(m, CURLMOPT_TIMERDATA, NULL);
    }
    for (uint32_t i = 0; r.slots && i < count; i++) {
        if (r.slots[i].easy)
            curl_easy_cleanup(r.slots[i].easy);
        curl_slist_free_all(r.slots[i].headers);
        sl_buf_fini(&r.slots[i].url);
        sl_buf_fini(&r.slots[i].body);
    }
    free(r.slots);
    if (r.timer >= 0)
        close(r.timer);
    if (r.epoll >= 0)
        close(r.epoll);
    return rc;
}
