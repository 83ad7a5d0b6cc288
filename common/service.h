/* common/service.h: what the main.c of each long-running program
 * (sluice-broker, sluice-worker) shares: reading --log-level and waiting
 * for the signal to stop. */
#ifndef SL_SERVICE_H
#define SL_SERVICE_H

/* Parses a --log-level argument; on a bad one prints why, naming prog, to
 * stderr and returns -1. Otherwise sets the level and returns 0. */
int sl_service_log_level(const char *prog, const char *arg);

/* Blocks until SIGINT or SIGTERM (CZMQ's handler sets zsys_interrupted). */
void sl_service_wait(void);

#endif
