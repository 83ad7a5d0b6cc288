/* client/bench_limits.h: the physical limits `sluice bench` is up against
 * on this host, measured in the same run as its workloads: the ZeroMQ round
 * trip and pipelined request-reply rate on the transport in use, and the
 * cache's GET and SET rates, one at a time and pipelined. Called by the
 * CLI's main thread. */
#ifndef SL_BENCH_LIMITS_H
#define SL_BENCH_LIMITS_H

#include "error.h"

#include <stddef.h>

typedef struct sl_bench_limits {
    char transport[16];     /* "tcp", "ipc" or "inproc" */
    double zmq_rtt_us;      /* round trip, p50 */
    double zmq_rate;        /* pipelined request-replies per second */
    char cache_url[256];    /* what was measured; "" if nothing */
    char cache_error[256];  /* why it was not; "" if it was */
    double get_rate;        /* GETs per second, one at a time */
    double get_batch_rate;  /* GETs per second, pipelined */
    double set_rate;        /* SETs per second, one at a time */
    double set_batch_rate;  /* SETs per second, pipelined */
    double spawn_rate;      /* /bin/echo started and reaped per second, one
                               thread per core: what program tasks are up
                               against */
    unsigned spawn_threads; /* the threads that measured it */
} sl_bench_limits_t;

/* Measures the transport of endpoint (its scheme) with payload-byte
 * messages, and the cache at cache_url (NULL: none) with payload-byte
 * values under short-lived keys. Takes about a second. Returns 0, or an
 * error if the transport cannot be measured; a cache that cannot be
 * measured is said in out->cache_error. The spawn rate is measured too
 * (0 if no process could start). */
int sl_bench_limits_measure(const char *endpoint, const char *cache_url,
                            size_t payload_bytes, sl_bench_limits_t *out,
                            sl_error_t *err);

#endif
