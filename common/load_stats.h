/* common/load_stats.h: what a load test measured: latency from each
 * request's intended send time, counts by status and by error kind,
 * bytes, late sends, and a timeline by second. A worker fills one for its
 * share and sends it as a value; the client merges every share's exactly
 * (docs/LOAD.md, "Results on the wire"). One belongs to one thread. */
#ifndef SL_LOAD_STATS_H
#define SL_LOAD_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "hist.h"
#include "value.h"

/* Why a request got no response. */
typedef enum {
    SL_LOAD_ERR_REFUSED,    /* the connection was refused */
    SL_LOAD_ERR_TIMEOUT,    /* no full response within the timeout */
    SL_LOAD_ERR_DNS,        /* the host name did not resolve */
    SL_LOAD_ERR_TLS,        /* the TLS handshake or certificate failed */
    SL_LOAD_ERR_CONNECTION, /* the connection was reset or closed early */
    SL_LOAD_ERR_OTHER,
    SL_LOAD_ERR_COUNT
} sl_load_error_t;

#define SL_LOAD_STATUS_LIMIT 1000 /* status codes counted: 0 .. 999 */
#define SL_LOAD_LATE_US      1000 /* a send this late is counted late */
/* A timeline's length: a test's longest schedule (SL_LOAD_MAX_TEST_S)
 * and its last timeouts; three counts a second keep a share's figures
 * far inside a message's node cap. */
#define SL_LOAD_MAX_TEST_S  (24u * 3600)
#define SL_LOAD_MAX_SECONDS (SL_LOAD_MAX_TEST_S + 3600u)

typedef struct {
    uint64_t sent, answered, failed; /* failed: no response, or >= 400 */
} sl_load_second_t;

/* One request of the scenario (by its index): its share of the figures. */
typedef struct {
    uint64_t sent, answered, failed;
    sl_hist_t *latency_us; /* NULL until its first answer */
} sl_load_request_stats_t;

#define SL_LOAD_MAX_SPLIT 1000 /* requests with figures of their own */

typedef struct {
    sl_hist_t *latency_us; /* answered requests: intended send to the
                              response's end */
    uint64_t scheduled;    /* requests the share's schedule holds */
    uint64_t sent;         /* requests put on the wire */
    uint64_t answered;     /* responses, any status */
    uint64_t unsent;       /* scheduled, never sent: the schedule ended
                              (every connection busy) or the test
                              stopped */
    uint64_t aborted;      /* in flight when the test stopped */
    uint64_t late;         /* sent SL_LOAD_LATE_US or more after due */
    uint64_t max_lag_us;   /* the latest send, after its due time */
    uint64_t bytes_out, bytes_in;
    uint64_t by_status[SL_LOAD_STATUS_LIMIT];
    uint64_t errors[SL_LOAD_ERR_COUNT];
    sl_load_second_t *seconds; /* by second from the test's start */
    uint32_t second_count;
    sl_load_request_stats_t *requests; /* by the scenario's request */
    uint32_t request_count;
} sl_load_stats_t;

/* 0, or SL_ENOMEM. */
int sl_load_stats_init(sl_load_stats_t *s);
void sl_load_stats_fini(sl_load_stats_t *s);

/* "refused", "timeout", ... */
const char *sl_load_error_name(sl_load_error_t kind);

/* The timeline's entry for second sec (grown as needed), or NULL when
 * memory runs out or sec is past SL_LOAD_MAX_SECONDS. */
sl_load_second_t *sl_load_stats_second(sl_load_stats_t *s, uint64_t sec);

/* The figures of the scenario's request req (grown as needed), or NULL
 * when memory runs out or req is SL_LOAD_MAX_SPLIT or more. */
sl_load_request_stats_t *sl_load_stats_request(sl_load_stats_t *s,
                                               uint32_t req);

/* Request req of the scenario sent lag_us after its due time, at second
 * sec (its bytes are added to bytes_out when it ends). */
void sl_load_stats_sent(sl_load_stats_t *s, uint32_t req, uint64_t sec,
                        uint64_t lag_us);

/* A response to request req with this status (0 .. 999), latency_us
 * after it was due, ending at second sec. */
void sl_load_stats_answered(sl_load_stats_t *s, uint32_t req, uint64_t sec,
                            long status, uint64_t latency_us, uint64_t bytes);

/* Request req got no response, ending at second sec. */
void sl_load_stats_error(sl_load_stats_t *s, uint32_t req, uint64_t sec,
                         sl_load_error_t kind);

/* The timeline's seconds up to the last one with anything in it. */
uint32_t sl_load_stats_seconds_used(const sl_load_stats_t *s);

/* Requests that failed: no response, or a status of 400 or more. */
uint64_t sl_load_stats_failed(const sl_load_stats_t *s);

/* From a share's figures as a value: requests sent, answered and failed
 * (counts[0..3)); false when v is not such a value. For the broker's
 * /metrics, without reading the whole histogram. */
bool sl_load_stats_counts(const sl_value_t *v, uint64_t counts[3]);

/* s as a value, or NULL when memory runs out. */
sl_value_t *sl_load_stats_to_value(const sl_load_stats_t *s);

/* Adds a share's stats (sl_load_stats_to_value's form) to s. SL_EINVAL
 * naming the field that is wrong; s is unchanged on error. */
int sl_load_stats_merge_value(sl_load_stats_t *s, const sl_value_t *v,
                              sl_error_t *err);

#endif
