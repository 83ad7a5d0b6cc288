/* common/arrival.h: an open-loop arrival schedule, for `sluice load`
 * (issue 17): when each request is meant to be sent, whatever the replies
 * do. The rate starts at start_rps and ramps linearly to each stage's
 * target over the stage's duration, as k6's ramping-arrival-rate does; a
 * max_rps caps it everywhere. Request k (from 0) is due when the
 * schedule's running count reaches k, so 1000/s for 1 s sends 1000
 * requests, at 0, 1 ms ... 999 ms. A worker w of n takes requests k with
 * k % n == w, at the same absolute times. Pure; any thread. */
#ifndef SL_ARRIVAL_H
#define SL_ARRIVAL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct {
    double target_rps;    /* the rate at the stage's end */
    uint64_t duration_ns; /* how long it takes to get there */
} sl_arrival_stage_t;

#define SL_ARRIVAL_MAX_SEGMENTS 128 /* stages, each split at most once */

typedef struct {
    double from_rps, to_rps; /* linear over the segment */
    uint64_t start_ns, duration_ns;
    double before; /* requests due before it starts */
} sl_arrival_segment_t;

typedef struct {
    sl_arrival_segment_t seg[SL_ARRIVAL_MAX_SEGMENTS];
    size_t count;
    uint64_t total; /* requests the schedule sends */
} sl_arrival_t;

/* Builds the schedule: start_rps, then count stages (at most 64), capped
 * at max_rps (0: no cap). SL_EINVAL naming what is wrong (a negative,
 * infinite or NaN rate, a stage of no duration, more than 64 stages, a
 * schedule of over 2^53 requests). */
int sl_arrival_init(sl_arrival_t *a, double start_rps,
                    const sl_arrival_stage_t *stages, size_t count,
                    double max_rps, sl_error_t *err);

/* Request k's intended send time, in ns from the start; UINT64_MAX if the
 * schedule sends fewer than k + 1. */
uint64_t sl_arrival_at(const sl_arrival_t *a, uint64_t k);

/* How long the schedule lasts, in ns: the end of its last segment. */
uint64_t sl_arrival_length_ns(const sl_arrival_t *a);

/* Requests worker w of n sends: those k < total with k % n == w. */
uint64_t sl_arrival_share(const sl_arrival_t *a, uint64_t w, uint64_t n);

#endif
