/* tests/unit/redis_server.c: starting and stopping a real redis-server for
 * unit tests of the Redis cache backend. */
#include "redis_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
sl_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static int
answers_ping(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    char reply[16] = "";
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
             write(fd, "PING\r\n", 6) == 6 && read(fd, reply, 7) > 0 &&
             strncmp(reply, "+PONG", 5) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

int
sl_test_redis_start(sl_test_redis_t *r)
{
    char port[16];
    if (r->port <= 0)
        r->port = sl_test_free_port();
    snprintf(port, sizeof port, "%d", r->port);
    snprintf(r->url, sizeof r->url, "redis://127.0.0.1:%d/0", r->port);
    r->pid = fork();
    if (r->pid == 0) {
        execlp("redis-server", "redis-server", "--port", port, "--bind",
               "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel",
               "warning", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; r->pid > 0 && i < 500; i++) {
        if (answers_ping(r->port))
            return 0;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    sl_test_redis_stop(r);
    return -1;
}

void
sl_test_redis_stop(sl_test_redis_t *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        waitpid(r->pid, NULL, 0);
    }
    r->pid = 0;
}
