/* common/service.h: what the main.c of each long-running program
 * (sluice-broker, sluice-worker) shares: reading --log-level, and stopping
 * on SIGINT or SIGTERM. Signals are blocked in every thread and taken by the
 * main thread alone with sigwait(2), so no actor is ever interrupted in the
 * middle of its work and the main thread decides how to stop. */
#ifndef SL_SERVICE_H
#define SL_SERVICE_H

/* Parses a --log-level argument; on a bad one prints why, naming prog, to
 * stderr and returns -1. Otherwise sets the level and returns 0. */
int sl_service_log_level(const char *prog, const char *arg);

/* Blocks SIGINT and SIGTERM in this thread and in every thread it starts
 * afterwards, and starts CZMQ without its own signal handler. Call first. */
void sl_service_init(void);

/* Waits for SIGINT or SIGTERM; returns the signal number. */
int sl_service_wait(void);

/* Waits up to timeout_ms for SIGINT or SIGTERM: its number, or 0. */
int sl_service_wait_for(int timeout_ms);

#endif
