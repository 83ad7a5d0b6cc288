/* client/bench.h: the workloads of `sluice bench`, run through libsluice
 * against a broker like any client's flows. Each workload checks every
 * result it gets, so a wrong or lost result fails the bench instead of
 * speeding it up. Called by the CLI's main thread. */
#ifndef SL_BENCH_H
#define SL_BENCH_H

#include "hist.h"

#include <sluice/client.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_bench_options {
    const char *endpoint;  /* the broker's client socket */
    uint32_t tasks;        /* N; 0: the workload's default */
    size_t payload_bytes;  /* bytes of padding in each task and result */
    bool is_cached;        /* cache: inputs; false: cache: none */
    const char *cache_url; /* the flows' cache; NULL: the workers' */
    double rate;           /* rate: runs per second */
    double duration_s;     /* rate: seconds of sending */
    bool is_live;          /* draw progress on stderr */
    bool is_local;         /* the broker is in this process */
    const char *salt;      /* in every task's args: this bench's keys */
} sl_bench_options_t;

typedef struct sl_bench_result {
    char workload[16];         /* its name */
    uint64_t tasks;            /* tasks (or runs) that finished */
    double seconds;            /* wall time of the timed part */
    double tasks_per_s;        /* tasks / seconds */
    double per_task_us;        /* chain: time per link */
    sl_hist_t *latency;        /* latency, rate: ns per run, owned */
    sl_hist_t *uncached;       /* latency with the cache on: the runs of
                                  a `cache: none` twin made between its
                                  runs, ns per run, owned; else NULL */
    double sent_per_s;         /* rate: runs sent per second */
    uint64_t lost;             /* rate: runs without a good result */
    sl_hist_t *late;           /* rate: ns each run was sent after the
                                  time it was meant to be, owned */
    double worst_at_s;         /* rate: when the slowest run was meant to
                                  be sent (s from the start) */
    uint64_t rss_growth_bytes; /* wide: broker memory growth */
    double rss_per_task_bytes; /* wide: growth / tasks */
} sl_bench_result_t;

/* The workloads, in the order `all` runs them. */
extern const char *const sl_bench_workloads[];

/* The default N of a workload. */
uint32_t sl_bench_default_tasks(const char *workload);

/* Runs workload; fills out (sl_bench_result_fini frees it). Returns 0, or
 * an error (a wrong result, a failed run, no broker) with err. */
int sl_bench_run(sl_client_t *client, const char *workload,
                 const sl_bench_options_t *opt, sl_bench_result_t *out,
                 sl_error_t *err);

void sl_bench_result_fini(sl_bench_result_t *r);

#endif
