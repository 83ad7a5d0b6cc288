/* common/cache.c: picks the backend by URL scheme and checks arguments once
 * for all backends. Called by the thread that owns the cache object. */
#include "cache_backend.h"

#include "entry.h"

#include "caps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
sl_cache_redact(const char *url, char *out, size_t size)
{
    const char *auth = url ? strstr(url, "://") : NULL;
    if (!url) {
        snprintf(out, size, "%s", "");
        return out;
    }
    if (!auth) {
        snprintf(out, size, "%s", url);
        return out;
    }
    auth += 3;
    const char *end = auth + strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *c = auth; c < end; c++)
        at = *c == '@' ? c : at; /* the last @: a password may hold one */
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!colon)
        snprintf(out, size, "%s", url);
    else
        snprintf(out, size, "%.*s***%s", (int)(colon + 1 - url), url, at);
    return out;
}

sl_cache_t *
sl_cache_new(const char *url, sl_error_t *err)
{
    if (!url || !*url) {
        sl_error_set(err, SL_EINVAL, "cache URL is empty");
        return NULL;
    }
    if (strncmp(url, "redis://", 8) == 0)
        return sl_cache_redis_new(url, err);
    if (strncmp(url, "lmdb://", 7) == 0)
        return sl_cache_lmdb_new(url, err);
    char shown[512];
    sl_error_set(err, SL_EINVAL,
                 "cache URL '%s': unknown scheme (use redis://host:port/db or "
                 "lmdb://PATH)",
                 sl_cache_redact(url, shown, sizeof shown));
    return NULL;
}

void
sl_cache_destroy(sl_cache_t **p)
{
    if (p && *p) {
        free((*p)->url);
        (*p)->ops->destroy(*p);
        *p = NULL;
    }
}

void
sl_cache_set_clock(sl_cache_t *c, sl_clock_ms_fn fn, void *ctx)
{
    c->clock = fn;
    c->clock_ctx = ctx;
}

int64_t
sl_cache_now_ms(const sl_cache_t *c)
{
    return c->clock ? c->clock(c->clock_ctx) : sl_entry_now_ms();
}

const char *
sl_cache_url(const sl_cache_t *c)
{
    return c->url;
}

static int
check_key(const char *key, sl_error_t *err)
{
    size_t size = strlen(key);
    if (size == 0 || size > SL_KEY_MAX_BYTES)
        return sl_error_set(err, SL_EINVAL,
                            "cache key of %zu bytes (1 to %d allowed)", size,
                            SL_KEY_MAX_BYTES);
    return 0;
}

int
sl_cache_get_batch(sl_cache_t *c, const char *const *keys, size_t count,
                   sl_buf_t *outs, int *rcs, sl_error_t *err)
{
    for (size_t i = 0; i < count; i++) {
        rcs[i] = SL_ECACHE;
        if (check_key(keys[i], err) < 0)
            return SL_EINVAL;
    }
    return count ? c->ops->get_batch(c, keys, count, outs, rcs, err) : 0;
}

int
sl_cache_get(sl_cache_t *c, const char *key, sl_buf_t *out, sl_error_t *err)
{
    int rc_key;
    int rc = sl_cache_get_batch(c, &key, 1, out, &rc_key, err);
    if (rc == 0 && rc_key == SL_ENOTFOUND)
        sl_error_set(err, SL_ENOTFOUND, "%s: no entry '%s'", c->url, key);
    if (rc == 0 && rc_key == SL_ETOOBIG)
        sl_error_set(err, SL_ETOOBIG,
                     "%s: the entry '%s' is over the read cap of %u bytes: "
                     "never read",
                     c->url, key, SL_CACHE_READ_MAX_BYTES);
    return rc < 0 ? rc : rc_key;
}

int
sl_cache_set_batch_send(sl_cache_t *c, const sl_cache_item_t *items,
                        size_t count, sl_error_t *err)
{
    for (size_t i = 0; i < count; i++) {
        int64_t ttl_ms = items[i].ttl_ms;
        if (check_key(items[i].key, err) < 0)
            return SL_EINVAL;
        if (items[i].data && ttl_ms <= 0 && ttl_ms != SL_TTL_FOREVER)
            return sl_error_set(err, SL_EINVAL,
                                "TTL of %lld ms: give a positive duration or "
                                "forever",
                                (long long)ttl_ms);
    }
    return count ? c->ops->set_send(c, items, count, err) : 0;
}

int
sl_cache_set_batch_wait(sl_cache_t *c, sl_error_t *err)
{
    return c->ops->set_wait ? c->ops->set_wait(c, err) : 0;
}

int
sl_cache_set_batch(sl_cache_t *c, const sl_cache_item_t *items, size_t count,
                   sl_error_t *err)
{
    int rc = sl_cache_set_batch_send(c, items, count, err);
    return rc < 0 ? rc : sl_cache_set_batch_wait(c, err);
}

int
sl_cache_set(sl_cache_t *c, const char *key, const void *data, size_t size,
             int64_t ttl_ms, sl_error_t *err)
{
    sl_cache_item_t item = {key, data, size, ttl_ms};
    return sl_cache_set_batch(c, &item, 1, err);
}

int
sl_cache_del(sl_cache_t *c, const char *key, sl_error_t *err)
{
    if (check_key(key, err) < 0)
        return SL_EINVAL;
    return c->ops->del(c, key, err);
}

void
sl_cache_lock_key(char *buf, size_t size, const char *key)
{
    snprintf(buf, size, "%s:lock", key);
}

int
sl_cache_lock_batch(sl_cache_t *c, const char *const *keys,
                    const char *const *tokens, size_t count, int64_t ttl_ms,
                    int *rcs, sl_error_t *err)
{
    char(*lks)[SL_CACHE_LOCK_KEY_BYTES] = calloc(count + 1, sizeof *lks);
    const char **ptrs = calloc(count + 1, sizeof *ptrs);
    int rc = lks && ptrs ? 0 : sl_error_set(err, SL_ENOMEM, "out of memory");
    if (rc == 0 && ttl_ms <= 0)
        rc = sl_error_set(err, SL_EINVAL, "lock TTL must be positive");
    for (size_t i = 0; i < count; i++) {
        rcs[i] = SL_ECACHE;
        if (rc == 0 && (rc = check_key(keys[i], err)) == 0) {
            sl_cache_lock_key(lks[i], sizeof lks[i], keys[i]);
            ptrs[i] = lks[i];
        }
    }
    if (rc == 0 && count)
        rc = c->ops->lock_batch(c, ptrs, tokens, count, ttl_ms, rcs, err);
    free(lks);
    free(ptrs);
    return rc;
}

int
sl_cache_probe_batch(sl_cache_t *c, sl_cache_probe_t *probes, size_t count,
                     int64_t lock_ttl_ms, sl_error_t *err)
{
    for (size_t i = 0; i < count; i++) {
        probes[i].rc = SL_ECACHE;
        probes[i].is_locked = false;
        if (check_key(probes[i].key, err) < 0)
            return SL_EINVAL;
    }
    if (lock_ttl_ms <= 0)
        return sl_error_set(err, SL_EINVAL, "lock TTL must be positive");
    return count ? c->ops->probe_batch(c, probes, count, lock_ttl_ms, err) : 0;
}

int
sl_cache_lock(sl_cache_t *c, const char *key, const char *token, int64_t ttl_ms,
              sl_error_t *err)
{
    int rc_key;
    int rc = sl_cache_lock_batch(c, &key, &token, 1, ttl_ms, &rc_key, err);
    return rc < 0 ? rc : rc_key;
}

int
sl_cache_unlock(sl_cache_t *c, const char *key, const char *token,
                sl_error_t *err)
{
    char lk[SL_CACHE_LOCK_KEY_BYTES];
    if (check_key(key, err) < 0)
        return SL_EINVAL;
    sl_cache_lock_key(lk, sizeof lk, key);
    return c->ops->unlock(c, lk, token, err);
}

int
sl_cache_scan(sl_cache_t *c, const char *prefix, sl_cache_visit_fn visit,
              void *ctx, sl_error_t *err)
{
    return c->ops->scan(c, prefix, visit, ctx, err);
}

int
sl_cache_cli_url(const char *given, const char **url, sl_error_t *err)
{
    *url = given ? given : getenv("SLUICE_CACHE_URL");
    if (!given || strncmp(given, "redis://", 8) != 0)
        return 0;
    const char *host = given + 8;
    const char *end = host + strcspn(host, "/");
    const char *at = NULL;
    for (const char *c = host; c < end; c++)
        at = *c == '@' ? c : at;
    const char *colon = at ? memchr(host, ':', (size_t)(at - host)) : NULL;
    if (colon && colon + 1 < at)
        return sl_error_set(err, SL_EINVAL,
                            "--cache: a password in a URL on the command line "
                            "is seen by every user of this machine (ps): put "
                            "it in $SLUICE_REDIS_PASSWORD (redis://user@host) "
                            "or the whole URL in $SLUICE_CACHE_URL");
    return 0;
}

char *
sl_cache_default_url(void)
{
    const char *dir = getenv("SLUICE_CACHE_DIR");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    const char *suffix = "";
    if (!dir || !*dir) {
        dir = xdg && *xdg ? xdg : home;
        suffix = xdg && *xdg ? "/sluice" : "/.cache/sluice";
    }
    if (!dir || !*dir)
        return NULL;
    size_t size = strlen("lmdb://") + strlen(dir) + strlen(suffix) + 1;
    char *url = malloc(size);
    if (url) {
        strcpy(url, "lmdb://");
        strcat(url, dir);
        strcat(url, suffix);
    }
    return url;
}
