/* examples/bench/peers/clock.h: the monotonic clock and the sort of the
 * timings, shared by the peer programs (each built on its own by
 * peers.sh). */
#ifndef SL_PEERS_CLOCK_H
#define SL_PEERS_CLOCK_H

#include <time.h>

static inline unsigned long long
now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (unsigned long long)t.tv_sec * 1000000000ull + t.tv_nsec;
}

/* For qsort of unsigned long long. */
static inline int
by_value(const void *a, const void *b)
{
    unsigned long long x = *(const unsigned long long *)a,
                       y = *(const unsigned long long *)b;
    return x < y ? -1 : x > y;
}

#endif
