/* broker/syncer.h: fdatasync(2) on a thread of its own, so that the broker
 * loop goes on dispatching while the journal reaches the disk (group
 * commit: every run accepted while one sync runs waits for the next, and
 * one sync covers them all). Made and used by the broker loop thread. */
#ifndef SL_SYNCER_H
#define SL_SYNCER_H

#include <czmq.h>

typedef struct sl_syncer sl_syncer_t;

/* NULL when the thread cannot start. */
sl_syncer_t *sl_syncer_new(void);

/* Stops the thread after the sync in flight; NULL-safe; sets *p to NULL. */
void sl_syncer_destroy(sl_syncer_t **p);

/* Starts syncing the file open as fd (duplicated: the caller may close
 * fd at once). Returns 0, or -1 if a sync is already in flight or fd
 * cannot be duplicated. */
int sl_syncer_start(sl_syncer_t *s, int fd);

/* Whether a sync is in flight. */
bool sl_syncer_is_busy(const sl_syncer_t *s);

/* The socket that becomes readable when the sync in flight ends, for the
 * caller's poller. */
zsock_t *sl_syncer_sock(sl_syncer_t *s);

/* Takes the end of the sync (call when sl_syncer_sock is readable): 0, or
 * the errno of fdatasync. */
int sl_syncer_finish(sl_syncer_t *s);

#endif
