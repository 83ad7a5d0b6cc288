/* common/trace.h: timestamps at each hand-off of a task's path, to see
 * where a one-task run's time goes (docs/PERFORMANCE.md). SL_TRACE(tag)
 * is compiled in only by cmake -DSLUICE_TRACE=ON, and is nothing
 * otherwise. When in, each process keeps (CLOCK_MONOTONIC ns, tag) in
 * memory, up to SL_TRACE_MAX points, and writes them to $SLUICE_TRACE_DIR
 * /PID at exit if that is set; examples/bench/trace_hops.py lines the
 * processes' points up run by run. Tags are string literals. */
#ifndef SL_TRACE_H
#define SL_TRACE_H

#include <stddef.h>

#define SL_TRACE_MAX 4000000

#ifdef SL_TRACE_ON
#define SL_TRACE(tag) sl_trace(tag)
#else
#define SL_TRACE(tag) ((void)0)
#endif

/* Notes tag now (thread-safe; dropped past SL_TRACE_MAX or without
 * memory). */
void sl_trace(const char *tag);

/* Writes the points noted so far, one "NS TAG" line each, to path: 0, or
 * -1 if it cannot. */
int sl_trace_write(const char *path);

/* Points noted so far. */
size_t sl_trace_count(void);

#endif
