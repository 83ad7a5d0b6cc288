/* include/sluice/client.h: libsluice, the client API. Connect to a broker,
 * submit a flow (loaded from a file or built in code, <sluice/flow.h>),
 * follow its events, get its results, ask for status. A client object
 * belongs to one thread. The library logs nothing. */
#ifndef SL_CLIENT_PUBLIC_H
#define SL_CLIENT_PUBLIC_H

#include <sluice/error.h>
#include <sluice/flow.h>
#include <sluice/value.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_client sl_client_t;

typedef enum {
    SL_EVENT_QUEUED = 0,  /* waiting for a worker (again, if error is set) */
    SL_EVENT_STARTED = 1, /* sent to worker_id */
    SL_EVENT_DONE = 2,    /* computed */
    SL_EVENT_CACHED = 3,  /* served from the cache */
    SL_EVENT_FAILED = 4,  /* failed: error says why */
    SL_EVENT_WAITING = 5, /* no connected worker has this task */
    SL_EVENT_PROGRESS = 6 /* a running task's figures so far: value */
} sl_event_kind_t;

typedef enum {
    SL_CACHE_OUTCOME_MISS = 0,      /* computed and stored */
    SL_CACHE_OUTCOME_HIT = 1,       /* served from the cache */
    SL_CACHE_OUTCOME_ERROR = 2,     /* the cache failed; computed anyway */
    SL_CACHE_OUTCOME_SKIPPED = 3,   /* cache: none */
    SL_CACHE_OUTCOME_REFRESHED = 4, /* refresh: computed and overwritten */
    SL_CACHE_OUTCOME_TOO_LARGE = 5  /* computed, too large to store */
} sl_cache_outcome_t;

/* One event; its strings are borrowed until the next call on the client. */
typedef struct sl_event {
    sl_event_kind_t kind;
    const char *run_id;
    const char *node;         /* node name */
    uint32_t index;           /* element of a mapped node */
    const char *worker_id;    /* "" if none */
    const char *error;        /* "" if none */
    sl_cache_outcome_t cache; /* DONE / CACHED / FAILED */
    const char *cache_error;  /* "" if none */
    uint64_t duration_us;     /* compute time */
    uint32_t total;           /* tasks of the run known so far */
    uint32_t done;            /* of which finished (done or failed) */
    const char *cache_key;    /* DONE / CACHED: the key its result is
                                 under ("" if none) */
    const sl_value_t *value;  /* PROGRESS: what the task reported so far
                                 (borrowed until the next call); else
                                 NULL */
} sl_event_t;

/* Connects (lazily: a broker that is not up yet is waited for). NULL, with
 * err, for a malformed endpoint. Over tcp:// and ipc://, CURVE is used
 * when $SLUICE_KEY (this client's key pair, a .key file from `sluice
 * keygen`) and $SLUICE_BROKER_KEY (the broker's .pub file) are set. */
sl_client_t *sl_client_new(const char *endpoint, sl_error_t *err);

/* sl_client_new with the two key files named here (each NULL falls back to
 * its variable; neither: in the clear). NULL, with err, if only one is
 * given or a file does not load. A key the broker refuses makes every call
 * that waits for the broker fail at once with SL_EREJECTED, saying so. */
sl_client_t *sl_client_new_curve(const char *endpoint, const char *key_file,
                                 const char *broker_key_file, sl_error_t *err);

/* NULL-safe; sets *p to NULL. */
void sl_client_destroy(sl_client_t **p);

/* Validates and submits flow with params (a MAP of overrides, or NULL) and
 * waits up to timeout_ms for the broker to accept it. On success *run_id
 * (the caller frees it) names the run. SL_EREJECTED with the broker's
 * reason, SL_EINVAL if the flow is invalid (nothing is sent), or
 * SL_ETIMEDOUT. */
int sl_client_submit(sl_client_t *c, const sl_flow_t *flow,
                     const sl_value_t *params, bool want_events, int timeout_ms,
                     char **run_id, sl_error_t *err);

/* How a run is submitted, for sl_client_submit_with. */
typedef struct sl_submit_options {
    const sl_value_t *params; /* MAP of parameter overrides, or NULL */
    bool want_events;         /* stream task events to this client */
    int timeout_ms;           /* for the broker to accept */
    uint64_t worker_wait_ms;  /* a task no connected worker serves fails
                                 after this long; 0: waits for ever (the
                                 workers may scale from zero) */
    bool is_unlisted;         /* forgotten once finished: not kept for
                                 status (sluice bench's runs) */
    bool is_async;            /* send and return at once, *run_id NULL:
                                 sl_client_wait takes its Accepted (and
                                 follows the run) or its Rejected (an
                                 error); for open-loop senders */
} sl_submit_options_t;

/* sl_client_submit with every option. */
int sl_client_submit_with(sl_client_t *c, const sl_flow_t *flow,
                          const sl_submit_options_t *opt, char **run_id,
                          sl_error_t *err);

/* Follows a run submitted elsewhere (or before a restart): its events and
 * result come to this client from now on, through sl_client_wait; a
 * finished run's result comes at once. Waits up to timeout_ms for the
 * broker to agree: 0, SL_ENOTFOUND or SL_ETIMEDOUT. */
int sl_client_watch(sl_client_t *c, const char *run_id, int timeout_ms,
                    sl_error_t *err);

/* Waits up to timeout_ms (-1: forever) for what the broker says next about
 * the runs this client follows. While it waits, a client that has heard
 * nothing for 3 s tells the broker again which runs it follows, so that a
 * broker that restarted (and resumed them from its journal) sends their
 * news here again. Returns 1 with *event filled, 0 with *result set (the
 * caller destroys it) when a run finished, SL_ETIMEDOUT, or SL_EREJECTED
 * with the broker's reason for a run submitted with is_async that it
 * refused.
 *
 * A result is a map: {"run_id": s, "flow": s, "state": "done"|"failed",
 * "nodes": [{"name": s, "state": "done"|"failed"|"pending"|"running",
 * "value": v, "error": s, "tasks": i, "cached": i, "failed": i,
 * "duration_us": i, "cache_errors": i, "cache_error": s, "errors": i,
 * "timeouts": i, "deaths": i}, ...]} with nodes in flow order. A cache
 * error never fails a task: it is counted here. errors, timeouts and deaths
 * count failed attempts of the node's tasks by cause (a worker death does
 * not use up a retry). */
int sl_client_wait(sl_client_t *c, sl_event_t *event, sl_value_t **result,
                   int timeout_ms, sl_error_t *err);

/* Asks the broker for its status: {"broker": {"pid", "rss_bytes",
 * "peak_rss_bytes", "uptime_ms"}, "workers": [{"id", "host", "pid",
 * "slots", "in_flight", "draining", "done", "cache_errors",
 * "last_seen_ms", "tasks": [s], "exec": [rule]}], "queues": [{"task", "depth",
 * "workers"}], "runs": [{"run_id", "flow", "state", "tasks", "done",
 * "cached", "failed"}]}. run_id NULL: all runs. */
int sl_client_status(sl_client_t *c, const char *run_id, int timeout_ms,
                     sl_value_t **status, sl_error_t *err);

/* Asks the broker what the last failed attempt of node[index] of run_id
 * wrote (a program task's): {"run_id", "node", "index", "attempt",
 * "error", "worker", "stdout", "stderr"} (the last two bytes, the last 64
 * KiB of each), into *logs. SL_ENOTFOUND, with err saying why, if the
 * broker keeps none. */
int sl_client_logs(sl_client_t *c, const char *run_id, const char *node,
                   uint32_t index, int timeout_ms, sl_value_t **logs,
                   sl_error_t *err);

/* Asks the broker to cancel a run and waits up to timeout_ms for its answer:
 * *status as from sl_client_status, with this run only. SL_ENOTFOUND if the
 * broker has no such run. The run's result (state "failed", unfinished
 * nodes "cancelled") goes to the client that submitted it. */
int sl_client_cancel(sl_client_t *c, const char *run_id, int timeout_ms,
                     sl_value_t **status, sl_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
