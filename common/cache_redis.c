/* common/cache_redis.c: the shared Redis cache (hiredis, blocking, with
 * timeouts). One connection per cache object, so one per thread. After any
 * connection error the context is freed (a hiredis context is dead after a
 * timeout) and reconnects are paced by a capped backoff; while waiting, calls
 * fail at once instead of stalling tasks. A connection idle for a second is
 * checked with a PING before use and replaced at once if the server closed
 * it (a restarted Redis), so that the first batch after a quiet spell does
 * not fail. The only file that sees hiredis.h. */
#include "cache_backend.h"

#include "caps.h"
#include "entry.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT_MS 1000
#define COMMAND_TIMEOUT_MS 1000
#define BACKOFF_MIN_MS     100
#define BACKOFF_MAX_MS     5000
#define IDLE_CHECK_MS      1000

typedef struct {
    sl_cache_t base;      /* first: cache.c sees only this */
    redisContext *ctx;    /* NULL while disconnected */
    char host[256];       /* server host name or address */
    int port;             /* server port */
    int db;               /* SELECTed database */
    char user[128];       /* ACL user, or empty */
    char password[256];   /* AUTH password, or empty */
    int64_t retry_at_ms;  /* no connect attempt before this */
    int64_t backoff_ms;   /* next wait after a failure */
    char last_error[256]; /* why the last connection failed */
    int64_t used_ms;      /* when the connection was last used */
    size_t owed;          /* replies of a store sent and not yet read */
    sl_error_t settled;   /* the outcome of a store's replies read before
                             its wait, kept for redis_set_wait */
} redis_cache_t;

static const char *
copy_part(char *dst, size_t cap, const char *from, const char *to)
{
    size_t n = (size_t)(to - from);
    if (n >= cap)
        return NULL;
    memcpy(dst, from, n);
    dst[n] = '\0';
    return dst;
}

static int
parse_url(redis_cache_t *r, const char *url, sl_error_t *err)
{
    char shown[512];
    const char *p = url + strlen("redis://");
    const char *at = strrchr(p, '@');
    if (at) { /* user:password@, :password@ or user@ */
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!copy_part(r->user, sizeof r->user, p, colon ? colon : at) ||
            (colon &&
             !copy_part(r->password, sizeof r->password, colon + 1, at)))
            return sl_error_set(err, SL_EINVAL,
                                "cache URL: credentials must read "
                                "user:password@, :password@ or user@ (user "
                                "names up to %zu bytes, passwords up to %zu)",
                                sizeof r->user - 1, sizeof r->password - 1);
        p = at + 1;
    }
    const char *slash = strchr(p, '/');
    const char *hostend = slash ? slash : p + strlen(p);
    const char *colon = memchr(p, ':', (size_t)(hostend - p));
    r->port = 6379;
    if (!copy_part(r->host, sizeof r->host, p, colon ? colon : hostend) ||
        !*r->host)
        return sl_error_set(err, SL_EINVAL, "cache URL '%s': no host",
                            sl_cache_redact(url, shown, sizeof shown));
    if (colon) {
        char *e;
        long port = strtol(colon + 1, &e, 10);
        if (e != hostend || port < 1 || port > 65535)
            return sl_error_set(err, SL_EINVAL, "cache URL '%s': bad port",
                                sl_cache_redact(url, shown, sizeof shown));
        r->port = (int)port;
    }
    if (slash && slash[1]) {
        char *e;
        long db = strtol(slash + 1, &e, 10);
        if (*e || db < 0 || db > 1000000)
            return sl_error_set(err, SL_EINVAL,
                                "cache URL '%s': bad database number",
                                sl_cache_redact(url, shown, sizeof shown));
        r->db = (int)db;
    }
    const char *env = getenv("SLUICE_REDIS_PASSWORD");
    if (!*r->password && env)
        snprintf(r->password, sizeof r->password, "%s", env);
    return 0;
}

static void
disconnect(redis_cache_t *r, const char *why)
{
    snprintf(r->last_error, sizeof r->last_error, "%s", why);
    if (r->ctx)
        redisFree(r->ctx);
    r->ctx = NULL;
    r->retry_at_ms = sl_cache_now_ms(&r->base) + r->backoff_ms;
    r->backoff_ms =
        r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
}

static int
fail(redis_cache_t *r, sl_error_t *err, const char *what)
{
    char why[256];
    if (!r->ctx) /* lost while reading a store's replies: said there */
        return sl_error_set(err, SL_ECACHE, "%s: %s", r->base.url,
                            r->last_error);
    snprintf(why, sizeof why, "%s",
             r->ctx && r->ctx->err ? r->ctx->errstr : what);
    disconnect(r, why);
    return sl_error_set(err, SL_ECACHE, "%s: %s", r->base.url, why);
}

static int
command_ok(redis_cache_t *r, redisReply *reply, const char *what,
           sl_error_t *err)
{
    char why[300];
    if (!reply)
        return fail(r, err, what);
    bool is_ok = reply->type != REDIS_REPLY_ERROR;
    snprintf(why, sizeof why, "%s: %s", what, is_ok ? "" : reply->str);
    freeReplyObject(reply);
    return is_ok ? 0 : fail(r, err, why);
}

/* Whether an idle connection still answers; frees it if not. */
static bool
is_alive(redis_cache_t *r)
{
    int64_t now = sl_cache_now_ms(&r->base);
    bool is_idle = now - r->used_ms > IDLE_CHECK_MS;
    r->used_ms = now;
    if (!is_idle)
        return true;
    redisReply *reply = redisCommand(r->ctx, "PING");
    bool is_ok = reply && reply->type != REDIS_REPLY_ERROR;
    if (reply)
        freeReplyObject(reply);
    if (!is_ok) {
        redisFree(r->ctx);
        r->ctx = NULL;
    }
    return is_ok;
}

static void settle_owed(redis_cache_t *r);

static int
connect_now(redis_cache_t *r, sl_error_t *err)
{
    if (r->owed)
        settle_owed(r); /* a store not waited for: its replies first */
    if (r->ctx && is_alive(r))
        return 0;
    if (sl_cache_now_ms(&r->base) < r->retry_at_ms)
        return sl_error_set(err, SL_ECACHE,
                            "%s: unavailable (%s); next attempt in %lld ms",
                            r->base.url, r->last_error,
                            (long long)(r->retry_at_ms -
                                        sl_cache_now_ms(&r->base)));
    struct timeval ct = {0, CONNECT_TIMEOUT_MS * 1000};
    struct timeval rt = {COMMAND_TIMEOUT_MS / 1000,
                         (COMMAND_TIMEOUT_MS % 1000) * 1000};
    r->ctx = redisConnectWithTimeout(r->host, r->port, ct);
    if (!r->ctx || r->ctx->err)
        return fail(r, err, "cannot connect");
    redisSetTimeout(r->ctx, rt);
    if (*r->password) {
        redisReply *reply =
            *r->user ? redisCommand(r->ctx, "AUTH %s %s", r->user, r->password)
                     : redisCommand(r->ctx, "AUTH %s", r->password);
        if (command_ok(r, reply,
                       "AUTH (the user and password, from the URL or "
                       "$SLUICE_REDIS_PASSWORD)",
                       err) < 0)
            return SL_ECACHE;
    }
    if (r->db && command_ok(r, redisCommand(r->ctx, "SELECT %d", r->db),
                            "SELECT", err) < 0)
        return SL_ECACHE;
    r->backoff_ms = BACKOFF_MIN_MS;
    r->used_ms = sl_cache_now_ms(&r->base);
    return 0;
}

/* connect_now for commands pipelined behind a store not yet waited for:
 * its connection was just used, so it is taken as alive, and its replies
 * are read (get_reply) before theirs. Redis runs a connection's commands
 * in order, so a lookup behind a store sees its entries. */
static int
connect_behind(redis_cache_t *r, sl_error_t *err)
{
    return r->owed && r->ctx ? 0 : connect_now(r, err);
}

/* The next reply of this connection's own commands: the replies a store
 * owes come first, and are read and kept for redis_set_wait. */
static int
get_reply(redis_cache_t *r, redisReply **reply)
{
    *reply = NULL;
    if (r->owed)
        settle_owed(r);
    if (!r->ctx || redisGetReply(r->ctx, (void **)reply) != REDIS_OK || !*reply)
        return REDIS_ERR;
    return REDIS_OK;
}

/* Appends a command of argc arguments (lens NULL: strings). Commands on
 * the task path are given as arguments, not a format: hiredis's
 * printf-style formatting took a quarter of an executor's time in a
 * fan-out with the cache on (perf). */
static int
append(redis_cache_t *r, int argc, const char **argv, const size_t *lens)
{
    return redisAppendCommandArgv(r->ctx, argc, argv, lens);
}

/* Appends SET key value [NX] [PX ttl_ms] (ttl_ms SL_TTL_FOREVER: no PX). */
static int
append_set(redis_cache_t *r, const char *key, const void *data, size_t size,
           bool is_nx, int64_t ttl_ms)
{
    char ttl[24];
    const char *argv[6] = {"SET", key, data};
    size_t lens[6] = {3, strlen(key), size};
    int argc = 3;
    if (is_nx) {
        argv[argc] = "NX";
        lens[argc++] = 2;
    }
    if (ttl_ms != SL_TTL_FOREVER) {
        argv[argc] = "PX";
        lens[argc++] = 2;
        lens[argc] =
            (size_t)snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_ms);
        argv[argc++] = ttl;
    }
    return append(r, argc, argv, lens);
}

/* Appends DEL key. */
static int
append_del(redis_cache_t *r, const char *key)
{
    const char *argv[] = {"DEL", key};
    return append(r, 2, argv, NULL);
}

/* Reads a value with GETRANGE, never more than the read cap and one byte:
 * hiredis trusts the server's sizes, and a planted 100 MiB value must not
 * be read whole. A missing key reads as "" (no entry is empty). */
static int
append_get(redis_cache_t *r, const char *key)
{
    char cap[16];
    snprintf(cap, sizeof cap, "%u", SL_CACHE_READ_MAX_BYTES);
    const char *argv[] = {"GETRANGE", key, "0", cap};
    return append(r, 4, argv, NULL);
}

/* What a GETRANGE reply holds: 0 (out has the bytes), SL_ENOTFOUND,
 * SL_ETOOBIG (over the read cap) or SL_ECACHE (an error, or a key of
 * another type). */
static int
take_value(const redisReply *reply, sl_buf_t *out)
{
    if (reply->type != REDIS_REPLY_STRING)
        return reply->type == REDIS_REPLY_NIL ? SL_ENOTFOUND : SL_ECACHE;
    if (reply->len == 0)
        return SL_ENOTFOUND;
    if (reply->len > SL_CACHE_READ_MAX_BYTES)
        return SL_ETOOBIG;
    out->size = 0;
    return sl_buf_append(out, reply->str, reply->len) < 0 ? SL_ECACHE : 0;
}

static int
redis_get_batch(sl_cache_t *c, const char *const *keys, size_t count,
                sl_buf_t *outs, int *rcs, sl_error_t *err)
{
    redis_cache_t *r = (redis_cache_t *)c;
    if (connect_behind(r, err) < 0)
        return SL_ECACHE;
    for (size_t i = 0; i < count; i++)
        if (append_get(r, keys[i]) != REDIS_OK)
            return fail(r, err, "GET");
    int rc = 0;
    for (size_t i = 0; i < count; i++) {
        redisReply *reply = NULL;
        if (get_reply(r, &reply) != REDIS_OK) {
            rc = fail(r, err, "GET");
            for (size_t j = 0; j < count; j++)
                rcs[j] = SL_ECACHE;
            return rc;
        }
        rcs[i] = take_value(reply, &outs[i]);
        if (reply->type == REDIS_REPLY_ERROR)
            sl_error_set(err, SL_ECACHE, "%s: GET %s: %s", c->url, keys[i],
                         reply->str);
        freeReplyObject(reply);
    }
    return rc;
}

/* Compare-and-delete, atomically on the server. */
static const char unlock_script[] = "if redis.call('get', KEYS[1]) == ARGV[1] "
                                    "then return redis.call('del', KEYS[1]) "
                                    "else return 0 end";

/* Appends the compare-and-delete of lock_key if token holds it. */
static int
append_unlock(redis_cache_t *r, const char *lock_key, const char *token)
{
    const char *argv[] = {"EVAL", unlock_script, "1", lock_key, token};
    return append(r, 5, argv, NULL);
}

/* Sends the SETs and lock releases of items, pipelined: written to the
 * socket, their replies owed (redis_set_wait reads them). */
static int
redis_set_send(sl_cache_t *c, const sl_cache_item_t *items, size_t count,
               sl_error_t *err)
{
    redis_cache_t *r = (redis_cache_t *)c;
    size_t replies = 0;
    int done = 0;
    if (connect_now(r, err) < 0) /* settles the last store's replies */
        return SL_ECACHE;
    for (size_t i = 0; i < count; i++) {
        const sl_cache_item_t *it = &items[i];
        char lk[SL_CACHE_LOCK_KEY_BYTES];
        int rc = REDIS_OK;
        if (it->data)
            rc = append_set(r, it->key, it->data, it->size, false, it->ttl_ms);
        replies += it->data != NULL;
        if (rc == REDIS_OK && it->unlock) {
            sl_cache_lock_key(lk, sizeof lk, it->key);
            /* with its entry: a DEL (cache.h); a compare-and-delete (Lua)
               cost Redis three SETs' time, and a fan-out with the cache on
               a third of its throughput */
            rc =
                it->data ? append_del(r, lk) : append_unlock(r, lk, it->unlock);
            replies++;
        }
        if (rc != REDIS_OK)
            return fail(r, err, "SET");
    }
    while (!done)
        if (redisBufferWrite(r->ctx, &done) != REDIS_OK)
            return fail(r, err, "SET");
    r->owed = replies;
    return 0;
}

/* Reads the replies a store owes, every one, in order, and keeps its
 * outcome (the first error) for redis_set_wait. */
static void
settle_owed(redis_cache_t *r)
{
    sl_error_t err = {0};
    for (; r->owed > 0; r->owed--) {
        redisReply *reply = NULL;
        if (redisGetReply(r->ctx, (void **)&reply) != REDIS_OK || !reply) {
            r->owed = 0;
            fail(r, &err, "SET");
            break;
        }
        if (!err.code && reply->type == REDIS_REPLY_ERROR)
            sl_error_set(&err, SL_ECACHE, "%s: SET: %s", r->base.url,
                         reply->str);
        freeReplyObject(reply);
    }
    if (!r->settled.code)
        r->settled = err;
}

static int
redis_set_wait(sl_cache_t *c, sl_error_t *err)
{
    redis_cache_t *r = (redis_cache_t *)c;
    if (r->owed)
        settle_owed(r);
    int rc = r->settled.code ? SL_ECACHE : 0;
    if (rc < 0 && err)
        *err = r->settled;
    r->settled = (sl_error_t){0};
    return rc;
}

static int
redis_del(sl_cache_t *c, const char *key, sl_error_t *err)
{
    redis_cache_t *r = (redis_cache_t *)c;
    if (connect_now(r, err) < 0)
        return SL_ECACHE;
    redisReply *reply = redisCommand(r->ctx, "DEL %s", key);
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        if (reply)
            freeReplyObject(reply);
        return fail(r, err, "DEL");
    }
    long long n = reply->integer;
    freeReplyObject(reply);
    return n > 0 ? 0 : SL_ENOTFOUND;
}

/* One SCAN page: sizes of its keys by pipelined STRLEN, then visits. */
static int
scan_page(redis_cache_t *r, redisReply *keys, sl_cache_visit_fn visit,
          void *ctx, sl_error_t *err, bool *is_stopped)
{
    for (size_t i = 0; i < keys->elements; i++)
        if (redisAppendCommand(r->ctx, "STRLEN %b", keys->element[i]->str,
                               keys->element[i]->len) != REDIS_OK)
            return fail(r, err, "STRLEN");
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *len = NULL;
        if (redisGetReply(r->ctx, (void **)&len) != REDIS_OK || !len)
            return fail(r, err, "STRLEN");
        size_t size =
            len->type == REDIS_REPLY_INTEGER ? (size_t)len->integer : 0;
        freeReplyObject(len);
        if (!*is_stopped && visit(keys->element[i]->str, size, ctx))
            *is_stopped = true;
    }
    return 0;
}

static int
redis_scan(sl_cache_t *c, const char *prefix, sl_cache_visit_fn visit,
           void *ctx, sl_error_t *err)
{
    redis_cache_t *r = (redis_cache_t *)c;
    char cursor[32] = "0";
    bool is_stopped = false;
    if (connect_now(r, err) < 0)
        return SL_ECACHE;
    do {
        redisReply *reply = redisCommand(r->ctx, "SCAN %s MATCH %s* COUNT 1000",
                                         cursor, prefix);
        if (!reply || reply->type != REDIS_REPLY_ARRAY ||
            reply->elements != 2) {
            if (reply)
                freeReplyObject(reply);
            return fail(r, err, "SCAN");
        }
        snprintf(cursor, sizeof cursor, "%s", reply->element[0]->str);
        int rc = scan_page(r, reply->element[1], visit, ctx, err, &is_stopped);
        freeReplyObject(reply);
        if (rc < 0)
            return rc;
    } while (strcmp(cursor, "0") != 0 && !is_stopped);
    return 0;
}

static int
redis_lock_batch(sl_cache_t *c, const char *const *lock_keys,
                 const char *const *tokens, size_t count, int64_t ttl_ms,
                 int *rcs, sl_error_t *err)
{
    redis_cache_t *r = (redis_cache_t *)c;
    if (connect_behind(r, err) < 0)
        return SL_ECACHE;
    for (size_t i = 0; i < count; i++)
        if (append_set(r, lock_keys[i], tokens[i], strlen(tokens[i]), true,
                       ttl_ms) != REDIS_OK)
            return fail(r, err, "SET NX");
    int rc = 0;
    for (size_t i = 0; i < count; i++) {
        redisReply *reply = NULL;
        if (get_reply(r, &reply) != REDIS_OK) {
            for (size_t j = 0; j < count; j++)
                rcs[j] = SL_ECACHE;
            return fail(r, err, "SET NX");
        }
        rcs[i] = reply->type == REDIS_REPLY_NIL     ? SL_EEXIST
                 : reply->type == REDIS_REPLY_ERROR ? SL_ECACHE
                                                    : 0;
        if (reply->type == REDIS_REPLY_ERROR && rc == 0)
            rc = sl_error_set(err, SL_ECACHE, "%s: SET NX %s: %s", c->url,
                              lock_keys[i], reply->str);
        freeReplyObject(reply);
    }
    return rc;
}

static int
redis_unlock(sl_cache_t *c, const char *lock_key, const char *token,
             sl_error_t *err)
{
    redis_cache_t *r = (redis_cache_t *)c;
    if (connect_now(r, err) < 0)
        return SL_ECACHE;
    redisReply *reply =
        redisCommand(r->ctx, "EVAL %s 1 %s %s", unlock_script, lock_key, token);
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        if (reply && reply->type == REDIS_REPLY_ERROR)
            return command_ok(r, reply, "EVAL", err);
        if (reply)
            freeReplyObject(reply);
        return fail(r, err, "EVAL");
    }
    int rc = reply->integer == 1 ? 0 : SL_ENOTFOUND;
    freeReplyObject(reply);
    return rc;
}

static int
redis_probe_batch(sl_cache_t *c, sl_cache_probe_t *probes, size_t count,
                  int64_t lock_ttl_ms, sl_error_t *err)
{
    redis_cache_t *r = (redis_cache_t *)c;
    if (connect_behind(r, err) < 0)
        return SL_ECACHE;
    for (size_t i = 0; i < count; i++) {
        char lk[SL_CACHE_LOCK_KEY_BYTES];
        const char *token = probes[i].token;
        sl_cache_lock_key(lk, sizeof lk, probes[i].key);
        if (append_get(r, probes[i].key) != REDIS_OK ||
            (token && append_set(r, lk, token, strlen(token), true,
                                 lock_ttl_ms) != REDIS_OK))
            return fail(r, err, "GET");
    }
    int rc = 0;
    for (size_t i = 0; i < count; i++) {
        sl_cache_probe_t *p = &probes[i];
        for (int part = 0; part < (p->token ? 2 : 1); part++) {
            redisReply *reply = NULL;
            if (get_reply(r, &reply) != REDIS_OK) {
                for (size_t j = 0; j < count; j++) {
                    probes[j].rc = SL_ECACHE;
                    probes[j].is_locked = false;
                }
                return fail(r, err, "GET");
            }
            if (part == 1) /* the lock */
                p->is_locked = reply->type == REDIS_REPLY_STATUS;
            else
                p->rc = take_value(reply, &p->value);
            if (reply->type == REDIS_REPLY_ERROR && rc == 0)
                rc = sl_error_set(err, SL_ECACHE, "%s: probe %s: %s", c->url,
                                  p->key, reply->str);
            freeReplyObject(reply);
        }
    }
    return rc;
}

static void
redis_destroy(sl_cache_t *c)
{
    redis_cache_t *r = (redis_cache_t *)c;
    if (r->ctx)
        redisFree(r->ctx);
    memset(r->password, 0, sizeof r->password);
    free(r);
}

static const sl_cache_ops_t redis_ops = {
    redis_get_batch, redis_set_send,    redis_set_wait,
    redis_del,       redis_scan,        redis_lock_batch,
    redis_unlock,    redis_probe_batch, redis_destroy,
};

sl_cache_t *
sl_cache_redis_new(const char *url, sl_error_t *err)
{
    redis_cache_t *r = calloc(1, sizeof *r);
    if (!r) {
        sl_error_set(err, SL_ENOMEM, "out of memory");
        return NULL;
    }
    r->base.ops = &redis_ops;
    r->backoff_ms = BACKOFF_MIN_MS;
    if (parse_url(r, url, err) < 0) {
        free(r);
        return NULL;
    }
    char redacted[600];
    snprintf(redacted, sizeof redacted, "redis://%s%s%s:%d/%d", r->user,
             *r->password ? ":***@"
             : *r->user   ? "@"
                          : "",
             r->host, r->port, r->db);
    r->base.url = strdup(redacted);
    if (!r->base.url) {
        free(r);
        sl_error_set(err, SL_ENOMEM, "out of memory");
        return NULL;
    }
    return &r->base;
}
