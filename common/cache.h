/* common/cache.h: the result cache, one interface over two backends:
 * redis://[user[:password]@]host[:port][/db] (shared, hiredis; a password
 * not in the URL comes from $SLUICE_REDIS_PASSWORD) and
 * lmdb://PATH (embedded, one machine). The cache stores bytes (encoded
 * entries, entry.h) under keys with a TTL. A cache object belongs to one
 * thread; open one per thread. */
#ifndef SL_CACHE_H
#define SL_CACHE_H

#include "buf.h"
#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A TTL that never expires. A TTL of 0 is refused: it never silently means
 * "now" or "forever". */
#define SL_TTL_FOREVER (-1)

typedef struct sl_cache sl_cache_t;

/* Opens a cache by URL. Redis connects lazily, so a cache whose server is
 * down still opens, and each call reports the error. NULL, with err saying
 * why, for a bad URL or an LMDB path that cannot be opened. */
sl_cache_t *sl_cache_new(const char *url, sl_error_t *err);

/* NULL-safe; sets *p to NULL. */
void sl_cache_destroy(sl_cache_t **p);

/* The clock (unix ms) a cache reads for its reconnect backoff, its idle
 * check and (LMDB) expiry: fn(ctx); NULL: the system's. Tests drive it so
 * that none waits out a backoff. */
typedef int64_t (*sl_clock_ms_fn)(void *ctx);
void sl_cache_set_clock(sl_cache_t *c, sl_clock_ms_fn fn, void *ctx);

/* url as it may be shown (logs, errors, status, /metrics): a password in
 * it replaced by "***" ("redis://user:***@host:6379/0"). Writes into out
 * (size bytes, cut to fit) and returns out. Every place that prints a
 * cache URL goes through here. */
const char *sl_cache_redact(const char *url, char *out, size_t size);

/* The URL, with any password replaced by "***"; borrowed from c. */
const char *sl_cache_url(const sl_cache_t *c);

/* Looks up count keys in one round trip. rcs[i] is 0 (outs[i] holds the
 * bytes; the caller owns and finis the buffers), SL_ENOTFOUND, or
 * SL_ETOOBIG for a stored value over SL_CACHE_READ_MAX_BYTES (never read
 * whole: Redis sends at most the cap and one byte). An empty value reads as
 * SL_ENOTFOUND (no entry or lock is empty). Returns 0, or
 * SL_ECACHE when the backend failed (every rcs[i] is then SL_ECACHE). */
int sl_cache_get_batch(sl_cache_t *c, const char *const *keys, size_t count,
                       sl_buf_t *outs, int *rcs, sl_error_t *err);

/* One key: 0 (out holds the bytes), SL_ENOTFOUND, SL_ETOOBIG or
 * SL_ECACHE. */
int sl_cache_get(sl_cache_t *c, const char *key, sl_buf_t *out,
                 sl_error_t *err);

/* Stores bytes under key for ttl_ms (> 0) or SL_TTL_FOREVER, replacing
 * what was there. Returns 0, SL_EINVAL (bad TTL or key) or SL_ECACHE. */
int sl_cache_set(sl_cache_t *c, const char *key, const void *data, size_t size,
                 int64_t ttl_ms, sl_error_t *err);

/* One entry to store with sl_cache_set_batch. */
typedef struct sl_cache_item {
    const char *key;    /* where */
    const void *data;   /* the bytes; NULL: store nothing, only unlock */
    size_t size;        /* their length */
    int64_t ttl_ms;     /* > 0, or SL_TTL_FOREVER (with data) */
    const char *unlock; /* NULL, or the token of key's lock (see
                           sl_cache_lock) to release after storing */
} sl_cache_item_t;

/* Stores count items and releases the locks they name, in one round trip
 * (Redis: pipelined SETs and DELs or compare-and-deletes; LMDB: one
 * transaction). Returns 0, SL_EINVAL (a bad key or TTL: nothing stored) or
 * SL_ECACHE (the backend failed; what was stored is unknown). An item
 * with data releases its key's lock whoever holds it: once the entry is
 * there the lock guards nothing (a worker waiting on it finds the entry;
 * at worst, a lock taken over after ours expired lets a third compute the
 * same task too). An item without data (unlock only: no entry) releases
 * the lock only if its token still holds it, silently otherwise. */
int sl_cache_set_batch(sl_cache_t *c, const sl_cache_item_t *items,
                       size_t count, sl_error_t *err);

/* sl_cache_set_batch in two halves, so that the caller can work while the
 * store travels (an executor answers the broker): _send checks the items
 * and sends the commands (Redis: written to the socket; LMDB: the whole
 * transaction), _wait reads their replies. Each returns what
 * sl_cache_set_batch would: a failure is known at the first that sees it.
 * Other calls on c may come between the two: their commands follow the
 * store's (Redis: pipelined behind it, so a lookup sees its entries), and
 * the store's replies are read first and their outcome kept for _wait.
 * Call _wait once per _send, before the next _send. */
int sl_cache_set_batch_send(sl_cache_t *c, const sl_cache_item_t *items,
                            size_t count, sl_error_t *err);
int sl_cache_set_batch_wait(sl_cache_t *c, sl_error_t *err);

/* Deletes key: 0, SL_ENOTFOUND or SL_ECACHE. */
int sl_cache_del(sl_cache_t *c, const char *key, sl_error_t *err);

/* A short lock on key's computation, so that workers behind different
 * brokers compute a task once: the lock is the key "KEY:lock" holding
 * token, for ttl_ms. Returns 0 (taken), SL_EEXIST (someone holds it) or
 * SL_ECACHE. */
int sl_cache_lock(sl_cache_t *c, const char *key, const char *token,
                  int64_t ttl_ms, sl_error_t *err);

/* sl_cache_lock for count keys in one round trip: rcs[i] is 0 (taken) or
 * SL_EEXIST. Returns 0, SL_EINVAL or SL_ECACHE (every rcs[i] SL_ECACHE). */
int sl_cache_lock_batch(sl_cache_t *c, const char *const *keys,
                        const char *const *tokens, size_t count, int64_t ttl_ms,
                        int *rcs, sl_error_t *err);

/* One key to look up, and to lock in the same round trip. */
typedef struct sl_cache_probe {
    const char *key;   /* the entry's key */
    const char *token; /* the value of its lock (see sl_cache_lock); NULL:
                          look it up only, take no lock */
    sl_buf_t value;    /* out: a hit's bytes (the caller finis it) */
    int rc;            /* out: 0 a hit; SL_ENOTFOUND missing; SL_ETOOBIG
                          over the read cap; SL_ECACHE */
    bool is_locked;    /* out: the lock is now ours (on a hit too: the
                          caller releases it) */
} sl_cache_probe_t;

/* Looks each key up and tries its lock, all in one round trip (Redis: a
 * GET and a SET NX PX pipelined per key; LMDB: one transaction, where a
 * hit takes no lock). For the work of a small batch, where a separate
 * lock round trip would cost more than releasing the locks of hits.
 * Returns 0, SL_EINVAL or SL_ECACHE (every rc SL_ECACHE). */
int sl_cache_probe_batch(sl_cache_t *c, sl_cache_probe_t *probes, size_t count,
                         int64_t lock_ttl_ms, sl_error_t *err);

/* Releases key's lock if token still holds it: 0, SL_ENOTFOUND (it had
 * expired or was taken over) or SL_ECACHE. */
int sl_cache_unlock(sl_cache_t *c, const char *key, const char *token,
                    sl_error_t *err);

/* Calls visit for each live key that starts with prefix, with the size of
 * its stored bytes; stops early when visit returns non-zero. Returns 0 or
 * SL_ECACHE. */
typedef int (*sl_cache_visit_fn)(const char *key, size_t size_bytes, void *ctx);
int sl_cache_scan(sl_cache_t *c, const char *prefix, sl_cache_visit_fn visit,
                  void *ctx, sl_error_t *err);

/* The cache URL of a command line: given (an option's value, or NULL),
 * else $SLUICE_CACHE_URL, else NULL, into *url. SL_EINVAL if given holds a
 * Redis password: every user of the machine sees a command line (ps), so
 * the password comes from $SLUICE_REDIS_PASSWORD or $SLUICE_CACHE_URL. */
int sl_cache_cli_url(const char *given, const char **url, sl_error_t *err);

/* The embedded default when no URL is configured:
 * lmdb://$SLUICE_CACHE_DIR, else $XDG_CACHE_HOME/sluice, else
 * $HOME/.cache/sluice. The caller frees it; NULL if no home is known. */
char *sl_cache_default_url(void);

#endif
