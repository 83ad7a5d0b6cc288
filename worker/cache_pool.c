/* worker/cache_pool.c: an executor's cache connections by URL (see
 * cache_pool.h). Owned by one executor thread. Never closes a pinned
 * connection: a job's lookups and stores go to the cache it was prepared
 * with, never to another flow's. */
#include "cache_pool.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sl_cache_pool {
    sl_pooled_cache_t **conns; /* count open connections, owned */
    size_t count;              /* in conns */
    size_t cap;                /* allocated in conns */
    size_t keep;               /* idle connections kept between batches */
    uint64_t tick;             /* counts takes, for least recently used */
};

sl_cache_pool_t *
sl_cache_pool_new(size_t keep)
{
    sl_cache_pool_t *pool = calloc(1, sizeof *pool);
    if (pool)
        pool->keep = keep ? keep : 1;
    return pool;
}

static void
close_conn(sl_pooled_cache_t **c)
{
    free((*c)->url);
    sl_cache_destroy(&(*c)->cache);
    free(*c);
    *c = NULL;
}

void
sl_cache_pool_destroy(sl_cache_pool_t **p)
{
    if (!p || !*p)
        return;
    for (size_t i = 0; i < (*p)->count; i++)
        close_conn(&(*p)->conns[i]);
    free((*p)->conns);
    free(*p);
    *p = NULL;
}

/* Closes least recently used unpinned connections while more than want
 * are open. */
static void
trim(sl_cache_pool_t *pool, size_t want)
{
    while (pool->count > want) {
        size_t oldest = pool->count;
        for (size_t i = 0; i < pool->count; i++)
            if (pool->conns[i]->pins == 0 &&
                (oldest == pool->count ||
                 pool->conns[i]->used < pool->conns[oldest]->used))
                oldest = i;
        if (oldest == pool->count)
            return; /* every one is pinned */
        close_conn(&pool->conns[oldest]);
        pool->conns[oldest] = pool->conns[--pool->count];
    }
}

/* A new connection for url, added to the pool; NULL without memory. */
static sl_pooled_cache_t *
open_conn(sl_cache_pool_t *pool, const char *url)
{
    if (pool->count == pool->cap) {
        size_t cap = pool->cap ? pool->cap * 2 : 8;
        sl_pooled_cache_t **grown = realloc(pool->conns, cap * sizeof *grown);
        if (!grown)
            return NULL;
        pool->conns = grown;
        pool->cap = cap;
    }
    sl_pooled_cache_t *c = calloc(1, sizeof *c);
    if (!c || !(c->url = strdup(url))) {
        free(c);
        return NULL;
    }
    sl_error_t err = {0};
    c->cache = sl_cache_new(url, &err);
    snprintf(c->error, sizeof c->error, "%s", err.msg);
    if (!c->cache)
        sl_log(SL_LOG_WARN, "executor", "cache not opened: %s", err.msg);
    pool->conns[pool->count++] = c;
    return c;
}

sl_pooled_cache_t *
sl_cache_pool_take(sl_cache_pool_t *pool, const char *url)
{
    sl_pooled_cache_t *c = NULL;
    for (size_t i = 0; i < pool->count && !c; i++)
        if (!strcmp(pool->conns[i]->url, url))
            c = pool->conns[i];
    if (!c) {
        trim(pool, pool->keep - 1); /* room for the new one, if idle */
        c = open_conn(pool, url);
    }
    if (c) {
        c->pins++;
        c->used = ++pool->tick;
    }
    return c;
}

void
sl_cache_pool_give(sl_cache_pool_t *pool, sl_pooled_cache_t **c)
{
    if (!c || !*c)
        return;
    if ((*c)->pins > 0)
        (*c)->pins--;
    *c = NULL;
    trim(pool, pool->keep);
}

size_t
sl_cache_pool_count(const sl_cache_pool_t *pool)
{
    return pool->count;
}
