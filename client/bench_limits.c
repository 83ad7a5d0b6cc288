/* client/bench_limits.c: measures what a broker, a worker and a cache could
 * do at best on this host. The ZeroMQ figures use libzmq's own messages
 * (no czmq allocation per message), between this thread and an echo
 * thread, over the transport the bench talks to the broker on. The cache
 * figures go through common/cache.c, the very code workers use. The spawn
 * figure is a bare posix_spawn and waitpid of /bin/echo per process, on
 * one thread per core. */
#include "bench_limits.h"

#include "cache.h"
#include "hist.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define RTT_ROUNDS    3000   /* round trips timed one by one */
#define RATE_MESSAGES 200000 /* request-replies timed pipelined */
#define RATE_WINDOW   1000   /* requests in flight while pipelining */
#define CACHE_ONE_OPS 3000   /* cache calls timed one at a time */
#define CACHE_BATCHES 50     /* pipelined batches timed */
#define CACHE_BATCH   1000   /* keys per batch */
#define KEY_TTL_MS    30000  /* the bench's keys disappear on their own */
#define IO_TIMEOUT_MS 5000   /* an echo that is not back by then is lost */

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* No high-water mark on the measuring sockets: a ROUTER whose pipe to a
 * peer looks full drops what it sends there, silently, and a pipe can
 * look full before it is (the reader's I/O thread says what it has read
 * every so often). With up to RATE_WINDOW echoes in flight on two busy
 * cores, an echo was dropped now and then and the bench waited out
 * IO_TIMEOUT_MS for it. RATE_WINDOW bounds what is queued. */
static void
unbounded(zsock_t *s)
{
    zsock_set_sndhwm(s, 0);
    zsock_set_rcvhwm(s, 0);
}

/* Sends every frame of each message it gets back where it came from. */
static void
echo_actor(zsock_t *pipe, void *args)
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    if (router)
        unbounded(router);
    int port = router ? zsock_bind(router, "%s", (const char *)args) : -1;
    zsock_signal(pipe, 0);
    zstr_send(pipe, port < 0 ? "" : zsock_endpoint(router));
    if (port < 0) {
        zsock_destroy(&router);
        return;
    }
    void *r = zsock_resolve(router);
    zmq_pollitem_t items[] = {{zsock_resolve(pipe), 0, ZMQ_POLLIN, 0},
                              {r, 0, ZMQ_POLLIN, 0}};
    for (;;) {
        if (zmq_poll(items, 2, -1) < 0 || items[0].revents)
            break; /* $TERM, or interrupted */
        zmq_msg_t m;
        zmq_msg_init(&m);
        while (zmq_msg_recv(&m, r, ZMQ_DONTWAIT) >= 0) {
            int more = zmq_msg_more(&m);
            zmq_msg_send(&m, r, more ? ZMQ_SNDMORE : 0);
        }
        zmq_msg_close(&m);
    }
    zsock_destroy(&router);
}

static const char *
transport_of(const char *endpoint, char *bind_to, size_t size)
{
    if (!strncmp(endpoint, "ipc://", 6)) {
        snprintf(bind_to, size, "ipc:///tmp/sluice-bench-%d.sock",
                 (int)getpid());
        return "ipc";
    }
    if (!strncmp(endpoint, "inproc://", 9)) {
        snprintf(bind_to, size, "inproc://sluice-bench-limits-%d",
                 (int)getpid());
        return "inproc";
    }
    snprintf(bind_to, size, "tcp://127.0.0.1:*");
    return "tcp";
}

static int
send_payload(void *s, const char *payload, size_t size, int flags)
{
    zmq_msg_t m;
    zmq_msg_init_size(&m, size);
    memcpy(zmq_msg_data(&m), payload, size);
    int rc = zmq_msg_send(&m, s, flags);
    if (rc < 0)
        zmq_msg_close(&m);
    return rc;
}

static int
recv_one(void *s, int flags)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    int rc = zmq_msg_recv(&m, s, flags);
    zmq_msg_close(&m);
    return rc;
}

/* The echo thread never drops a message, so a reply not back within
 * IO_TIMEOUT_MS is an error, not a reason to wait for ever. */
static int
measure_zmq(void *d, const char *payload, size_t size, sl_bench_limits_t *out,
            sl_error_t *err)
{
    int timeout = IO_TIMEOUT_MS, rc = 0;
    zmq_setsockopt(d, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(d, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    sl_hist_t *h = sl_hist_new();
    for (int i = 0; i < RTT_ROUNDS + 100 && h && rc == 0; i++) {
        uint64_t t0 = now_ns();
        if (send_payload(d, payload, size, 0) < 0 || recv_one(d, 0) < 0)
            rc = -1;
        else if (i >= 100) /* the first ones warm up the connection */
            sl_hist_add(h, now_ns() - t0);
    }
    out->zmq_rtt_us = h ? (double)sl_hist_quantile(h, 0.5) / 1000.0 : 0;
    sl_hist_destroy(&h);
    size_t sent = 0, got = 0;
    uint64_t t0 = now_ns();
    while (got < RATE_MESSAGES && rc == 0) {
        /* With nothing in flight the send waits for room: the pipe can
         * look full until the I/O thread says it has read what was sent,
         * and a reply can then never come to wake us. */
        while (sent < RATE_MESSAGES && sent - got < RATE_WINDOW &&
               send_payload(d, payload, size, sent > got ? ZMQ_DONTWAIT : 0) >=
                   0)
            sent++;
        if (sent == got || recv_one(d, 0) < 0) {
            rc = -1;
            break;
        }
        got++;
        while (got < sent && recv_one(d, ZMQ_DONTWAIT) >= 0)
            got++;
    }
    out->zmq_rate = (double)got * 1e9 / (double)(now_ns() - t0);
    if (rc < 0)
        return sl_error_set(err, SL_ETIMEDOUT,
                            "measuring ZeroMQ over %s: no reply from the echo "
                            "thread in %d ms (%s)",
                            out->transport, IO_TIMEOUT_MS,
                            zmq_strerror(zmq_errno()));
    return 0;
}

static double
per_second(size_t ops, uint64_t t0)
{
    uint64_t ns = now_ns() - t0;
    return ns ? (double)ops * 1e9 / (double)ns : 0;
}

/* One at a time, then pipelined: SETs first, so that the GETs hit. */
static int
measure_cache(sl_cache_t *c, const char *payload, size_t size,
              sl_bench_limits_t *out, sl_error_t *err)
{
    static char keys[CACHE_BATCH][64];
    const char *key_ptrs[CACHE_BATCH];
    sl_cache_item_t items[CACHE_BATCH];
    sl_buf_t outs[CACHE_BATCH] = {{0}};
    int rcs[CACHE_BATCH], rc = 0;
    for (size_t i = 0; i < CACHE_BATCH; i++) {
        snprintf(keys[i], sizeof keys[i], "sluice:bench:limits:%d:%zu",
                 (int)getpid(), i);
        key_ptrs[i] = keys[i];
        items[i] = (sl_cache_item_t){keys[i], payload, size, KEY_TTL_MS};
    }
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < CACHE_ONE_OPS && rc == 0; i++)
        rc = sl_cache_set(c, keys[i % CACHE_BATCH], payload, size, KEY_TTL_MS,
                          err);
    out->set_rate = per_second(CACHE_ONE_OPS, t0);
    t0 = now_ns();
    for (size_t b = 0; b < CACHE_BATCHES && rc == 0; b++)
        rc = sl_cache_set_batch(c, items, CACHE_BATCH, err);
    out->set_batch_rate = per_second(CACHE_BATCHES * CACHE_BATCH, t0);
    t0 = now_ns();
    for (size_t i = 0; i < CACHE_ONE_OPS && rc == 0; i++)
        rc = sl_cache_get(c, keys[i % CACHE_BATCH], &outs[0], err);
    out->get_rate = per_second(CACHE_ONE_OPS, t0);
    t0 = now_ns();
    for (size_t b = 0; b < CACHE_BATCHES && rc == 0; b++)
        rc = sl_cache_get_batch(c, key_ptrs, CACHE_BATCH, outs, rcs, err);
    out->get_batch_rate = per_second(CACHE_BATCHES * CACHE_BATCH, t0);
    for (size_t i = 0; i < CACHE_BATCH; i++)
        sl_buf_fini(&outs[i]);
    return rc;
}

/* How long each spawning thread runs. */
#define SPAWN_MS 500

/* One thread: /bin/echo started (posix_spawn, output to /dev/null) and
 * reaped, over and over for SPAWN_MS; *arg is in: nothing, out: count. */
static void *
spawn_loop(void *arg)
{
    uint64_t *count = arg, until = now_ns() + SPAWN_MS * 1000000ull;
    char *argv[] = {"echo", "1", NULL}, *envp[] = {NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    while (now_ns() < until) {
        pid_t pid;
        int status;
        if (posix_spawn(&pid, "/bin/echo", &fa, NULL, argv, envp) != 0)
            break;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        (*count)++;
    }
    posix_spawn_file_actions_destroy(&fa);
    return NULL;
}

/* Processes started and reaped per second, one thread per core. */
static void
measure_spawn(sl_bench_limits_t *out)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = cores > 0 && cores < 64 ? (unsigned)cores : 1, started = 0;
    pthread_t threads[64];
    uint64_t counts[64] = {0}, total = 0, t0 = now_ns();
    for (unsigned i = 0; i < n; i++)
        started += pthread_create(&threads[started], NULL, spawn_loop,
                                  &counts[started]) == 0;
    for (unsigned i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
        total += counts[i];
    }
    out->spawn_rate = per_second(total, t0);
    out->spawn_threads = started;
}

int
sl_bench_limits_measure(const char *endpoint, const char *cache_url,
                        size_t payload_bytes, sl_bench_limits_t *out,
                        sl_error_t *err)
{
    char bind_to[128];
    memset(out, 0, sizeof *out);
    snprintf(out->transport, sizeof out->transport, "%s",
             transport_of(endpoint, bind_to, sizeof bind_to));
    char *payload = calloc(1, payload_bytes + 1);
    zactor_t *echo = payload ? zactor_new(echo_actor, bind_to) : NULL;
    char *echo_at = echo ? zstr_recv(echo) : NULL;
    zsock_t *dealer = echo_at && *echo_at ? zsock_new(ZMQ_DEALER) : NULL;
    if (dealer)
        unbounded(dealer);
    if (dealer && zsock_connect(dealer, "%s", echo_at) < 0)
        zsock_destroy(&dealer);
    int rc = 0;
    if (!dealer) {
        rc = sl_error_set(err, SL_EIO, "cannot measure ZeroMQ over %s (%s)",
                          bind_to, zmq_strerror(zmq_errno()));
        goto out;
    }
    memset(payload, 'x', payload_bytes);
    rc = measure_zmq(zsock_resolve(dealer), payload, payload_bytes, out, err);
    measure_spawn(out);
    if (rc < 0 || !cache_url)
        goto out;
    sl_error_t cerr = {0};
    sl_cache_t *c = sl_cache_new(cache_url, &cerr);
    if (c && measure_cache(c, payload, payload_bytes, out, &cerr) == 0)
        snprintf(out->cache_url, sizeof out->cache_url, "%s", sl_cache_url(c));
    else
        snprintf(out->cache_error, sizeof out->cache_error, "%s", cerr.msg);
    sl_cache_destroy(&c);
out:
    zsock_destroy(&dealer);
    zstr_free(&echo_at);
    zactor_destroy(&echo);
    free(payload);
    return rc;
}
