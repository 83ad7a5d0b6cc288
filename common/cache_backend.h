/* common/cache_backend.h: what a cache backend provides to cache.c. Only
 * cache.c, cache_redis.c and cache_lmdb.c include this. */
#ifndef SL_CACHE_BACKEND_H
#define SL_CACHE_BACKEND_H

#include "cache.h"

typedef struct sl_cache_ops {
    int (*get_batch)(sl_cache_t *c, const char *const *keys, size_t count,
                     sl_buf_t *outs, int *rcs, sl_error_t *err);
    /* stores items: all of it, or (with set_wait) sends the commands and
     * leaves their replies to set_wait */
    int (*set_send)(sl_cache_t *c, const sl_cache_item_t *items, size_t count,
                    sl_error_t *err);
    int (*set_wait)(sl_cache_t *c, sl_error_t *err); /* NULL: nothing owed */
    int (*del)(sl_cache_t *c, const char *key, sl_error_t *err);
    int (*scan)(sl_cache_t *c, const char *prefix, sl_cache_visit_fn visit,
                void *ctx, sl_error_t *err);
    int (*lock_batch)(sl_cache_t *c, const char *const *lock_keys,
                      const char *const *tokens, size_t count, int64_t ttl_ms,
                      int *rcs, sl_error_t *err);
    int (*unlock)(sl_cache_t *c, const char *lock_key, const char *token,
                  sl_error_t *err);
    int (*probe_batch)(sl_cache_t *c, sl_cache_probe_t *probes, size_t count,
                       int64_t lock_ttl_ms, sl_error_t *err);
    void (*destroy)(sl_cache_t *c); /* frees the backend's part and c */
} sl_cache_ops_t;

/* The first member of every backend's struct. */
struct sl_cache {
    const sl_cache_ops_t *ops; /* the backend */
    char *url;                 /* redacted URL, owned */
    sl_clock_ms_fn clock;      /* NULL: the system's (sl_entry_now_ms) */
    void *clock_ctx;           /* for clock */
};

/* What c's clock says now (unix ms). */
int64_t sl_cache_now_ms(const sl_cache_t *c);

/* "KEY:lock" into buf (size at least SL_CACHE_LOCK_KEY_BYTES). */
#define SL_CACHE_LOCK_KEY_BYTES 520
void sl_cache_lock_key(char *buf, size_t size, const char *key);

/* Backend constructors; url has the scheme already checked. */
sl_cache_t *sl_cache_redis_new(const char *url, sl_error_t *err);
sl_cache_t *sl_cache_lmdb_new(const char *url, sl_error_t *err);

#endif
