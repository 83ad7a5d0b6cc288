/* common/trace.c: per-hop timestamps (trace.h). The points go into one
 * array per process, claimed with an atomic counter, allocated at the
 * first point: a process that notes none pays nothing. */
#include "trace.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    uint64_t ns;
    const char *tag;
} point_t;

static point_t *points;
static atomic_size_t count;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Written at exit to $SLUICE_TRACE_DIR/PID, if set. */
static void
write_at_exit(void)
{
    const char *dir = getenv("SLUICE_TRACE_DIR");
    char path[4096];
    if (!dir || !*dir)
        return;
    snprintf(path, sizeof path, "%s/%d", dir, (int)getpid());
    sl_trace_write(path);
}

static void
start(void)
{
    points = calloc(SL_TRACE_MAX, sizeof *points);
    atexit(write_at_exit);
}

void
sl_trace(const char *tag)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    pthread_once(&once, start);
    size_t i = atomic_fetch_add(&count, 1);
    if (points && i < SL_TRACE_MAX)
        points[i] =
            (point_t){(uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec,
                      tag};
}

size_t
sl_trace_count(void)
{
    size_t n = atomic_load(&count);
    return points ? (n < SL_TRACE_MAX ? n : SL_TRACE_MAX) : 0;
}

int
sl_trace_write(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    size_t n = sl_trace_count();
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%llu %s\n", (unsigned long long)points[i].ns,
                points[i].tag ? points[i].tag : "?");
    return fclose(f) == 0 ? 0 : -1;
}
