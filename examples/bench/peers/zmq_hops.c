/* examples/bench/peers/zmq_hops.c: the floor ZeroMQ sets for a one-task
 * run, for docs/PERFORMANCE.md: an 8-byte request from a client through a
 * relay to an echo and back (client -> broker -> worker -> broker ->
 * client: the hops of a sluice task, doing nothing else), each in a
 * process of its own, over loopback TCP; and beside it the plain round
 * trip to the echo.
 *   zmq_hops relay FRONT BACK   ROUTERs: clients on FRONT, the echo on BACK
 *   zmq_hops echo BACK          a DEALER that says "R", then echoes
 *   zmq_hops client FRONT N     N round trips through the relay (p50, p99)
 *   zmq_hops direct BACK N      N round trips to an echo ROUTER on BACK
 *   zmq_hops echo-router BACK   the ROUTER echo for `direct`
 * peers.sh builds and runs it. */
#include <zmq.h>

#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* n timed request-replies on s (after 200 to warm up), printed. */
static int
time_trips(void *s, int n, const char *what)
{
    char buf[64];
    unsigned long long *ns = calloc((size_t)n, sizeof *ns);
    for (int i = 0; ns && i < n + 200; i++) {
        unsigned long long t0 = now_ns();
        if (zmq_send(s, "8 bytes!", 8, 0) != 8 ||
            zmq_recv(s, buf, sizeof buf, 0) != 8)
            return 1;
        if (i >= 200)
            ns[i - 200] = now_ns() - t0;
    }
    if (!ns)
        return 1;
    qsort(ns, (size_t)n, sizeof *ns, by_value);
    printf("%s: p50 %.1f us, p99 %.1f\n", what, ns[n / 2] / 1e3,
           ns[n * 99 / 100] / 1e3);
    free(ns);
    return 0;
}

int
main(int argc, char **argv)
{
    char to[64], id[256], cid[256], wid[256], buf[256];
    int idn, cidn = 0, widn = 0;
    if (argc < 3) {
        fprintf(stderr, "usage: see the head of zmq_hops.c\n");
        return 2;
    }
    void *ctx = zmq_ctx_new();
    if (!strcmp(argv[1], "relay") && argc > 3) {
        void *front = zmq_socket(ctx, ZMQ_ROUTER),
             *back = zmq_socket(ctx, ZMQ_ROUTER);
        snprintf(to, sizeof to, "tcp://127.0.0.1:%s", argv[2]);
        zmq_bind(front, to);
        snprintf(to, sizeof to, "tcp://127.0.0.1:%s", argv[3]);
        zmq_bind(back, to);
        zmq_pollitem_t items[] = {{front, 0, ZMQ_POLLIN, 0},
                                  {back, 0, ZMQ_POLLIN, 0}};
        while (zmq_poll(items, 2, -1) >= 0) {
            if (items[1].revents & ZMQ_POLLIN) { /* echo: ready or reply */
                widn = zmq_recv(back, wid, sizeof wid, 0);
                int n = zmq_recv(back, buf, sizeof buf, 0);
                if (n != 1 && cidn > 0) {
                    zmq_send(front, cid, (size_t)cidn, ZMQ_SNDMORE);
                    zmq_send(front, buf, (size_t)n, 0);
                }
            }
            if (items[0].revents & ZMQ_POLLIN) { /* client: to the echo */
                cidn = zmq_recv(front, cid, sizeof cid, 0);
                int n = zmq_recv(front, buf, sizeof buf, 0);
                zmq_send(back, wid, (size_t)widn, ZMQ_SNDMORE);
                zmq_send(back, buf, (size_t)n, 0);
            }
        }
    } else if (!strcmp(argv[1], "echo")) {
        void *d = zmq_socket(ctx, ZMQ_DEALER);
        snprintf(to, sizeof to, "tcp://127.0.0.1:%s", argv[2]);
        zmq_connect(d, to);
        zmq_send(d, "R", 1, 0);
        for (int n; (n = zmq_recv(d, buf, sizeof buf, 0)) >= 0;)
            zmq_send(d, buf, (size_t)n, 0);
    } else if (!strcmp(argv[1], "echo-router")) {
        void *r = zmq_socket(ctx, ZMQ_ROUTER);
        snprintf(to, sizeof to, "tcp://127.0.0.1:%s", argv[2]);
        zmq_bind(r, to);
        while ((idn = zmq_recv(r, id, sizeof id, 0)) >= 0) {
            int n = zmq_recv(r, buf, sizeof buf, 0);
            zmq_send(r, id, (size_t)idn, ZMQ_SNDMORE);
            zmq_send(r, buf, (size_t)n, 0);
        }
    } else if (argc > 3) {
        void *d = zmq_socket(ctx, ZMQ_DEALER);
        snprintf(to, sizeof to, "tcp://127.0.0.1:%s", argv[2]);
        zmq_connect(d, to);
        return time_trips(d, atoi(argv[3]),
                          !strcmp(argv[1], "client") ? "2 hops (client, relay, "
                                                       "echo: 3 processes)"
                                                     : "1 round trip (client, "
                                                       "echo: 2 processes)");
    }
    return 1;
}
