/* examples/bench/peers/gearman_add.c: Gearman's figures on this host, for
 * docs/PERFORMANCE.md: trivial `add` jobs through gearmand, one at a time,
 * as issue 15's harness ran them (C workers, no cache, loopback TCP).
 *   gearman_add worker PORT        serves "add" ("A B" -> "A+B")
 *   gearman_add client PORT N      N jobs one after another (p50, p99 of
 *                                  submit -> result), then a chain of 1,000
 *                                  jobs, each fed the last one's result
 * peers.sh builds and runs it. */
#include <libgearman/gearman.h>

#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gearman_return_t
add(gearman_job_st *job, void *ctx)
{
    char in[64], out[32];
    size_t n = gearman_job_workload_size(job);
    long a = 0, b = 0;
    (void)ctx;
    n = n < sizeof in - 1 ? n : sizeof in - 1;
    memcpy(in, gearman_job_workload(job), n);
    in[n] = '\0';
    sscanf(in, "%ld %ld", &a, &b);
    int len = snprintf(out, sizeof out, "%ld", a + b);
    return gearman_job_send_data(job, out, (size_t)len);
}

/* One job: the sum, or -1 (said on stderr). */
static long
call_add(gearman_client_st *c, long a, long b)
{
    char in[64];
    size_t size;
    gearman_return_t rc;
    int len = snprintf(in, sizeof in, "%ld %ld", a, b);
    char *r = gearman_client_do(c, "add", NULL, in, (size_t)len, &size, &rc);
    if (rc != GEARMAN_SUCCESS || !r) {
        fprintf(stderr, "gearman: %s\n", gearman_client_error(c));
        free(r);
        return -1;
    }
    long sum = strtol(r, NULL, 10);
    free(r);
    return sum;
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: gearman_add worker PORT | client PORT N\n");
        return 2;
    }
    in_port_t port = (in_port_t)atoi(argv[2]);
    if (!strcmp(argv[1], "worker")) {
        gearman_worker_st *w = gearman_worker_create(NULL);
        gearman_worker_add_server(w, "127.0.0.1", port);
        gearman_function_t fn = gearman_function_create(add);
        gearman_worker_define_function(w, "add", 3, fn, 0, NULL);
        for (;;)
            if (gearman_worker_work(w) != GEARMAN_SUCCESS)
                fprintf(stderr, "gearman: %s\n", gearman_worker_error(w));
    }
    int n = argc > 3 ? atoi(argv[3]) : 5000, warm = 200, links = 1000;
    gearman_client_st *c = gearman_client_create(NULL);
    gearman_client_add_server(c, "127.0.0.1", port);
    unsigned long long *ns = calloc((size_t)n, sizeof *ns);
    for (int i = 0; ns && i < n + warm; i++) {
        unsigned long long t0 = now_ns();
        if (call_add(c, i, 1) != i + 1)
            return 1;
        if (i >= warm)
            ns[i - warm] = now_ns() - t0;
    }
    qsort(ns, (size_t)n, sizeof *ns, by_value);
    long x = 0;
    unsigned long long t0 = now_ns();
    for (int i = 0; i < links && x >= 0; i++)
        x = call_add(c, x, 1);
    if (x != links)
        return 1;
    printf("gearman one job: p50 %.0f us, p99 %.0f, p99.9 %.0f; chain: %.0f us "
           "per link\n",
           ns[n / 2] / 1e3, ns[n * 99 / 100] / 1e3, ns[n * 999 / 1000] / 1e3,
           (now_ns() - t0) / 1e3 / links);
    free(ns);
    gearman_client_free(c);
    return 0;
}
