/* worker/load_share.h: one worker's share of a load test (docs/LOAD.md):
 * requests k = w, w + n, w + 2n ... of the scenario's schedule, each sent
 * at its intended time (absolute, the same on every worker), over at most
 * `connections` connections of a libcurl multi handle, its latency
 * counted from that intended time whatever held it back (no coordinated
 * omission). Runs on the calling thread until the share is done or
 * stop() says to stop. */
#ifndef SL_LOAD_SHARE_H
#define SL_LOAD_SHARE_H

#include "load_spec.h"
#include "load_stats.h"

#include <curl/curl.h>

typedef struct {
    const sl_load_spec_t *spec;
    uint32_t worker, workers; /* this share: w of n */
    int64_t start_unix_us;    /* when request 0 is due (CLOCK_REALTIME) */
    uint32_t connections;     /* this share's */
    CURLM *multi;             /* borrowed; its connections are reused */
    /* Asked about every 20 ms and each second: true stops the share
     * (what is in flight is aborted). NULL: never. */
    bool (*stop)(void *ctx);
    /* Called about once a second with the figures so far. NULL: none. */
    void (*progress)(void *ctx, const sl_load_stats_t *so_far);
    void *ctx;
} sl_load_share_t;

/* Runs the share into *stats (initialised by the caller). 0, or an error
 * code with err set (memory, libcurl); stats hold what was measured. */
int sl_load_share_run(const sl_load_share_t *share, sl_load_stats_t *stats,
                      sl_error_t *err);

#endif
