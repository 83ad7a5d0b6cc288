/* common/service.h: what the main.c of each program shares: reading
 * numeric options (sluice-broker, sluice-worker, the sluice CLI); and, for
 * the two servers, reading --log-level and stopping on SIGINT or SIGTERM,
 * which are blocked in every thread and taken by the main thread alone
 * with sigwait(2), so no actor is ever interrupted in the middle of its
 * work and the main thread decides how to stop. */
#ifndef SL_SERVICE_H
#define SL_SERVICE_H

#include <stdint.h>

/* Parses a --log-level argument; on a bad one prints why, naming prog, to
 * stderr and returns -1. Otherwise sets the level and returns 0. */
int sl_service_log_level(const char *prog, const char *arg);

/* Reads text, the value of the option flag, as a whole number from min to
 * max. Anything else (empty, a sign, a fraction, trailing bytes, out of
 * range) is printed to stderr naming prog, flag and text, and -1 is
 * returned with *out unchanged; otherwise 0. */
int sl_service_number(const char *prog, const char *flag, const char *text,
                      uint64_t min, uint64_t max, uint64_t *out);

/* The same, for an option held in 32 bits. */
int sl_service_number32(const char *prog, const char *flag, const char *text,
                        uint32_t min, uint32_t max, uint32_t *out);

/* Blocks SIGINT and SIGTERM in this thread and in every thread it starts
 * afterwards, and starts CZMQ without its own signal handler. Call first. */
void sl_service_init(void);

/* Waits for SIGINT or SIGTERM; returns the signal number. */
int sl_service_wait(void);

/* Waits up to timeout_ms for SIGINT or SIGTERM: its number, or 0. */
int sl_service_wait_for(int timeout_ms);

#endif
