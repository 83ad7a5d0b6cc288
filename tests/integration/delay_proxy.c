/* tests/integration/delay_proxy.c: a TCP proxy that holds every byte for a
 * fixed time in each direction, for tests of links with latency (this
 * kernel has no netem).
 *
 *   delay_proxy LISTEN_IP:PORT TARGET_IP:PORT DELAY_MS
 *
 * One thread, poll(2). Each connection is paired with a new one to the
 * target; what is read on one side is queued with the time it is due and
 * written to the other side then, in order. An end closed on one side is
 * passed on (shutdown) once its queue is written. Runs until SIGTERM. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAIRS_MAX 64
#define CHUNK     16384

typedef struct chunk {
    struct chunk *next;
    long long due_ms;
    size_t size, sent;
    char data[];
} chunk_t;

/* One direction: bytes read from `from`, queued, written to `to`. */
typedef struct {
    int from, to;
    chunk_t *head, *tail;
    int is_eof;  /* `from` closed: pass it on once the queue is empty */
    int is_shut; /* passed on */
} lane_t;

typedef struct {
    int is_used;
    lane_t up, down; /* client -> target, target -> client */
} pair_t;

static volatile sig_atomic_t is_stopping;
static pair_t pairs[PAIRS_MAX];

static long long
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
parse(const char *text, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof host)
        return -1;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)atoi(colon + 1));
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static void
lane_free(lane_t *l)
{
    while (l->head) {
        chunk_t *c = l->head;
        l->head = c->next;
        free(c);
    }
    l->tail = NULL;
}

static void
pair_close(pair_t *p)
{
    close(p->up.from);
    close(p->down.from);
    lane_free(&p->up);
    lane_free(&p->down);
    memset(p, 0, sizeof *p);
}

/* Reads what `from` has into a new chunk due delay_ms from now: 0, or -1
 * when the connection failed. */
static int
lane_read(lane_t *l, int delay_ms)
{
    chunk_t *c = malloc(sizeof *c + CHUNK);
    if (!c)
        return -1;
    ssize_t n = recv(l->from, c->data, CHUNK, 0);
    if (n <= 0) {
        free(c);
        if (n == 0) {
            l->is_eof = 1;
            return 0;
        }
        return errno == EINTR || errno == EAGAIN ? 0 : -1;
    }
    c->next = NULL;
    c->due_ms = now_ms() + delay_ms;
    c->size = (size_t)n;
    c->sent = 0;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    return 0;
}

/* Writes the chunks that are due: 0, or -1 when the connection failed. */
static int
lane_write(lane_t *l)
{
    long long now = now_ms();
    while (l->head && l->head->due_ms <= now) {
        chunk_t *c = l->head;
        ssize_t n = send(l->to, c->data + c->sent, c->size - c->sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        c->sent += (size_t)n;
        if (c->sent < c->size)
            return 0;
        l->head = c->next;
        if (!l->head)
            l->tail = NULL;
        free(c);
    }
    if (!l->head && l->is_eof && !l->is_shut) {
        shutdown(l->to, SHUT_WR);
        l->is_shut = 1;
    }
    return 0;
}

static void
on_stop(int sig)
{
    (void)sig;
    is_stopping = 1;
}

int
main(int argc, char **argv)
{
    struct sockaddr_in listen_at, target;
    int delay_ms = argc == 4 ? atoi(argv[3]) : -1;
    if (argc != 4 || parse(argv[1], &listen_at) < 0 ||
        parse(argv[2], &target) < 0 || delay_ms < 0) {
        fprintf(stderr, "usage: delay_proxy LISTEN_IP:PORT TARGET_IP:PORT "
                        "DELAY_MS\n");
        return 2;
    }
    signal(SIGTERM, on_stop);
    signal(SIGINT, on_stop);
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&listen_at, sizeof listen_at) < 0 ||
        listen(lfd, 16) < 0) {
        fprintf(stderr, "delay_proxy: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    while (!is_stopping) {
        struct pollfd pfd[1 + 2 * PAIRS_MAX];
        lane_t *lanes[1 + 2 * PAIRS_MAX];
        int n = 0, timeout = 1000;
        long long now = now_ms();
        pfd[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        for (int i = 0; i < PAIRS_MAX; i++) {
            if (!pairs[i].is_used)
                continue;
            lane_t *both[2] = {&pairs[i].up, &pairs[i].down};
            for (int k = 0; k < 2; k++) {
                lane_t *l = both[k];
                /* a due chunk not written yet (the peer's buffer was
                 * full): try again soon */
                if (l->head && l->head->due_ms <= now)
                    timeout = 5;
                else if (l->head && l->head->due_ms - now < timeout)
                    timeout = (int)(l->head->due_ms - now);
                lanes[n] = l;
                pfd[n++] = (struct pollfd){.fd = l->from,
                                           .events = l->is_eof ? 0 : POLLIN};
            }
        }
        if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
            break;
        if (pfd[0].revents & POLLIN) {
            int cfd = accept(lfd, NULL, NULL);
            int tfd = cfd >= 0 ? socket(AF_INET, SOCK_STREAM, 0) : -1;
            int slot = -1;
            for (int i = 0; i < PAIRS_MAX && slot < 0; i++)
                if (!pairs[i].is_used)
                    slot = i;
            if (tfd < 0 || slot < 0 ||
                connect(tfd, (struct sockaddr *)&target, sizeof target) < 0) {
                if (cfd >= 0)
                    close(cfd);
                if (tfd >= 0)
                    close(tfd);
            } else {
                setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                setsockopt(tfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                pairs[slot] = (pair_t){.is_used = 1,
                                       .up = {.from = cfd, .to = tfd},
                                       .down = {.from = tfd, .to = cfd}};
            }
        }
        for (int i = 1; i < n; i++) {
            if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
                if (lane_read(lanes[i], delay_ms) < 0)
                    lanes[i]->is_eof = 1;
        }
        for (int i = 0; i < PAIRS_MAX; i++) {
            pair_t *p = &pairs[i];
            if (!p->is_used)
                continue;
            if (lane_write(&p->up) < 0 || lane_write(&p->down) < 0 ||
                (p->up.is_shut && p->down.is_shut))
                pair_close(p);
        }
    }
    for (int i = 0; i < PAIRS_MAX; i++)
        if (pairs[i].is_used)
            pair_close(&pairs[i]);
    close(lfd);
    return 0;
}
