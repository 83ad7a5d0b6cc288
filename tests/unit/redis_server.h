/* tests/unit/redis_server.h: a real redis-server on a free loopback port,
 * started and stopped by a test. */
#ifndef SL_TEST_REDIS_SERVER_H
#define SL_TEST_REDIS_SERVER_H

#include <sys/types.h>

typedef struct sl_test_redis {
    pid_t pid;    /* the server process, 0 if not running */
    int port;     /* where it listens */
    char url[64]; /* redis://127.0.0.1:PORT/0 */
} sl_test_redis_t;

/* A TCP port nobody listens on now. */
int sl_test_free_port(void);

/* Starts redis-server (no persistence) on r->port, or on a free port if
 * r->port is 0, and waits until it answers PING.
 * Returns 0, or -1 if it did not come up in 5 s. */
int sl_test_redis_start(sl_test_redis_t *r);

/* Stops it (SIGTERM, then waits). */
void sl_test_redis_stop(sl_test_redis_t *r);

#endif
