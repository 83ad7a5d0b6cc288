/* worker/cache_pool.h: an executor's cache connections, one per URL, opened
 * on first use. A connection is pinned while a job in hand uses it, and
 * only an unpinned one is ever closed: no job's cache changes under it,
 * however many URLs one batch names. Between batches at most `keep`
 * connections stay open, the most recently used. Owned by one executor
 * thread. */
#ifndef SL_CACHE_POOL_H
#define SL_CACHE_POOL_H

#include "cache.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sl_cache_pool sl_cache_pool_t;

/* One connection of the pool. Its fields are read-only outside the pool. */
typedef struct sl_pooled_cache {
    char *url;         /* as the task or worker named it, owned */
    sl_cache_t *cache; /* the open connection, owned; NULL if it failed */
    char error[256];   /* why it failed to open (password redacted) */
    uint32_t pins;     /* jobs in hand that use it */
    uint64_t used;     /* the pool's tick at its last take (for LRU) */
} sl_pooled_cache_t;

/* A pool that keeps at most keep (>= 1) idle connections. NULL without
 * memory. */
sl_cache_pool_t *sl_cache_pool_new(size_t keep);

/* Closes every connection, pinned or not. NULL-safe; sets *p to NULL. */
void sl_cache_pool_destroy(sl_cache_pool_t **p);

/* The connection for url, opened if need be, and pinned: it stays open
 * and the same until given back. A URL that cannot be opened still gets
 * one, with cache NULL and error saying why (logged once per opening).
 * NULL only when memory runs out. */
sl_pooled_cache_t *sl_cache_pool_take(sl_cache_pool_t *pool, const char *url);

/* Unpins *c (NULL-safe) and sets *c to NULL; beyond keep, the least
 * recently used unpinned connections are closed. */
void sl_cache_pool_give(sl_cache_pool_t *pool, sl_pooled_cache_t **c);

/* How many connections are open (pinned or idle). */
size_t sl_cache_pool_count(const sl_cache_pool_t *pool);

#endif
