/* common/cache_lmdb.c: the embedded cache for one machine (LMDB). Each value
 * is stored as 8 bytes of big-endian expiry (unix ms, 0: never) then the
 * entry; an expired value is a miss. Each write also sweeps a few entries
 * further along the key space and deletes the expired ones, so the file
 * does not fill with the dead. The only file that sees lmdb.h.
 *
 * LMDB allows one open environment per file per process, and sluice --local
 * opens the same path from many threads, so environments are shared through
 * a small process-wide table under a mutex: the one piece of global state in
 * common/, kept because the library demands it. Each cache object is still
 * used by one thread; transactions are MDB_NOTLS, so they are not tied to a
 * thread. */
#include "cache_backend.h"

#include "caps.h"
#include "dirs.h"
#include "entry.h"

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAP_SIZE_BYTES  ((size_t)1 << 30)
#define EXPIRY_BYTES    8
#define SWEEP_PER_WRITE 16

typedef struct shared_env {
    char *path;                            /* directory of the environment */
    MDB_env *env;                          /* open environment */
    MDB_dbi dbi;                           /* the main database */
    int refs;                              /* cache objects using it */
    struct shared_env *next;               /* next in the table */
    char sweep_from[SL_KEY_MAX_BYTES + 1]; /* where the next sweep starts;
                                 only touched inside a write transaction,
                                 which LMDB runs one at a time */
} shared_env_t;

static pthread_mutex_t envs_lock = PTHREAD_MUTEX_INITIALIZER;
static shared_env_t *envs;

typedef struct {
    sl_cache_t base;      /* first: cache.c sees only this */
    shared_env_t *shared; /* the environment, shared per process */
} lmdb_cache_t;

static shared_env_t *
open_env(const char *path, sl_error_t *err)
{
    shared_env_t *s = calloc(1, sizeof *s);
    MDB_txn *txn = NULL;
    int rc = s ? 0 : ENOMEM;
    if (rc == 0 && sl_dirs_make(path, false) != 0)
        rc = errno;
    if (rc == 0)
        rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, MAP_SIZE_BYTES);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(s->env, 512);
    if (rc == 0)
        rc = mdb_env_open(s->env, path, MDB_NOTLS | MDB_NOSYNC, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, NULL, 0, &s->dbi);
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (rc == 0 && !(s->path = strdup(path)))
        rc = ENOMEM;
    if (rc == 0)
        return s;
    sl_error_set(err, SL_ECACHE, "lmdb://%s: %s", path, mdb_strerror(rc));
    if (txn)
        mdb_txn_abort(txn);
    if (s && s->env)
        mdb_env_close(s->env);
    free(s);
    return NULL;
}

static shared_env_t *
acquire_env(const char *path, sl_error_t *err)
{
    pthread_mutex_lock(&envs_lock);
    shared_env_t *s = envs;
    while (s && strcmp(s->path, path) != 0)
        s = s->next;
    if (!s && (s = open_env(path, err))) {
        s->next = envs;
        envs = s;
    }
    if (s)
        s->refs++;
    pthread_mutex_unlock(&envs_lock);
    return s;
}

static void
release_env(shared_env_t *s)
{
    pthread_mutex_lock(&envs_lock);
    if (--s->refs == 0) {
        shared_env_t **pp = &envs;
        while (*pp != s)
            pp = &(*pp)->next;
        *pp = s->next;
        mdb_env_close(s->env);
        free(s->path);
        free(s);
    }
    pthread_mutex_unlock(&envs_lock);
}

static int
lmdb_fail(sl_cache_t *c, sl_error_t *err, const char *op, int rc)
{
    return sl_error_set(err, SL_ECACHE, "%s: %s: %s", c->url, op,
                        mdb_strerror(rc));
}

static int64_t
read_expiry(const MDB_val *v)
{
    const unsigned char *p = v->mv_data;
    uint64_t x = 0;
    for (int i = 0; i < EXPIRY_BYTES; i++)
        x = x << 8 | p[i];
    return (int64_t)x;
}

static bool
is_live(const MDB_val *v, int64_t now_ms)
{
    if (v->mv_size < EXPIRY_BYTES)
        return false;
    int64_t expires_ms = read_expiry(v);
    return expires_ms == 0 || expires_ms > now_ms;
}

/* Copies a stored value (past its expiry) into out, unless it is empty
 * or over the read cap: 0, SL_ENOTFOUND, SL_ETOOBIG or SL_ECACHE (no
 * memory). */
static int
read_value(const MDB_val *v, sl_buf_t *out)
{
    size_t size = v->mv_size - EXPIRY_BYTES;
    if (size == 0)
        return SL_ENOTFOUND; /* as Redis's GETRANGE reads it */
    if (size > SL_CACHE_READ_MAX_BYTES)
        return SL_ETOOBIG;
    return sl_buf_append(out, (char *)v->mv_data + EXPIRY_BYTES, size) < 0
               ? SL_ECACHE
               : 0;
}

static int
lmdb_get_batch(sl_cache_t *c, const char *const *keys, size_t count,
               sl_buf_t *outs, int *rcs, sl_error_t *err)
{
    shared_env_t *s = ((lmdb_cache_t *)c)->shared;
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return lmdb_fail(c, err, "begin", rc);
    int64_t now_ms = sl_cache_now_ms(c);
    for (size_t i = 0; i < count; i++) {
        MDB_val k = {strlen(keys[i]), (void *)keys[i]}, v;
        rc = mdb_get(txn, s->dbi, &k, &v);
        if (rc == MDB_NOTFOUND || (rc == 0 && !is_live(&v, now_ms))) {
            rcs[i] = SL_ENOTFOUND;
            continue;
        }
        if (rc != 0) {
            mdb_txn_abort(txn);
            return lmdb_fail(c, err, "get", rc);
        }
        outs[i].size = 0;
        rcs[i] = read_value(&v, &outs[i]);
    }
    mdb_txn_abort(txn);
    return 0;
}

/* Deletes the expired among the next SWEEP_PER_WRITE entries. */
static void
sweep(shared_env_t *s, MDB_txn *txn, int64_t now_ms)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, s->dbi, &cur) != 0)
        return;
    MDB_val k = {strlen(s->sweep_from), s->sweep_from}, v;
    int rc = mdb_cursor_get(cur, &k, &v, k.mv_size ? MDB_SET_RANGE : MDB_FIRST);
    for (int i = 0; rc == 0 && i < SWEEP_PER_WRITE; i++) {
        /* after a delete the cursor already stands on the next entry */
        bool is_deleted = !is_live(&v, now_ms) && mdb_cursor_del(cur, 0) == 0;
        rc = mdb_cursor_get(cur, &k, &v,
                            is_deleted ? MDB_GET_CURRENT : MDB_NEXT);
    }
    if (rc == 0 && k.mv_size < sizeof s->sweep_from) {
        memcpy(s->sweep_from, k.mv_data, k.mv_size);
        s->sweep_from[k.mv_size] = '\0';
    } else {
        s->sweep_from[0] = '\0'; /* the end: start again from the first */
    }
    mdb_cursor_close(cur);
}

/* Puts [expiry][data] under key inside txn (a write transaction). */
static int
put(shared_env_t *s, MDB_txn *txn, const char *key, const void *data,
    size_t size, int64_t ttl_ms, int64_t now_ms)
{
    uint64_t expires_ms =
        ttl_ms == SL_TTL_FOREVER ? 0 : (uint64_t)(now_ms + ttl_ms);
    MDB_val k = {strlen(key), (void *)key};
    MDB_val v = {size + EXPIRY_BYTES, NULL};
    int rc = mdb_put(txn, s->dbi, &k, &v, MDB_RESERVE);
    if (rc == 0) {
        unsigned char *p = v.mv_data;
        for (int i = EXPIRY_BYTES - 1; i >= 0; i--, expires_ms >>= 8)
            p[i] = (unsigned char)(expires_ms & 0xff);
        memcpy(p + EXPIRY_BYTES, data, size);
    }
    return rc;
}

/* Deletes lock_key inside txn if token holds it; says whether it did. */
static bool
del_if_ours(shared_env_t *s, MDB_txn *txn, const char *lock_key,
            const char *token)
{
    MDB_val k = {strlen(lock_key), (void *)lock_key}, v;
    size_t n = strlen(token);
    bool is_ours = mdb_get(txn, s->dbi, &k, &v) == 0 &&
                   v.mv_size == n + EXPIRY_BYTES &&
                   memcmp((char *)v.mv_data + EXPIRY_BYTES, token, n) == 0;
    return is_ours && mdb_del(txn, s->dbi, &k, NULL) == 0;
}

static int
lmdb_set_batch(sl_cache_t *c, const sl_cache_item_t *items, size_t count,
               sl_error_t *err)
{
    shared_env_t *s = ((lmdb_cache_t *)c)->shared;
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != 0)
        return lmdb_fail(c, err, "begin", rc);
    for (size_t i = 0; i < count && rc == 0; i++) {
        char lk[SL_CACHE_LOCK_KEY_BYTES];
        if (items[i].data)
            rc = put(s, txn, items[i].key, items[i].data, items[i].size,
                     items[i].ttl_ms, sl_cache_now_ms(c));
        if (rc == 0 && items[i].unlock) { /* cache.h: whose lock goes */
            sl_cache_lock_key(lk, sizeof lk, items[i].key);
            if (items[i].data) {
                MDB_val k = {strlen(lk), lk};
                mdb_del(txn, s->dbi, &k, NULL);
            } else {
                del_if_ours(s, txn, lk, items[i].unlock);
            }
        }
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return lmdb_fail(c, err, "put", rc);
    }
    sweep(s, txn, sl_cache_now_ms(c));
    rc = mdb_txn_commit(txn);
    return rc == 0 ? 0 : lmdb_fail(c, err, "commit", rc);
}

static int
lmdb_del(sl_cache_t *c, const char *key, sl_error_t *err)
{
    shared_env_t *s = ((lmdb_cache_t *)c)->shared;
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != 0)
        return lmdb_fail(c, err, "begin", rc);
    MDB_val k = {strlen(key), (void *)key}, v;
    bool was_live =
        mdb_get(txn, s->dbi, &k, &v) == 0 && is_live(&v, sl_cache_now_ms(c));
    rc = mdb_del(txn, s->dbi, &k, NULL);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return lmdb_fail(c, err, "del", rc);
    }
    rc = mdb_txn_commit(txn);
    if (rc != 0)
        return lmdb_fail(c, err, "commit", rc);
    return was_live ? 0 : SL_ENOTFOUND;
}

static int
lmdb_scan(sl_cache_t *c, const char *prefix, sl_cache_visit_fn visit, void *ctx,
          sl_error_t *err)
{
    shared_env_t *s = ((lmdb_cache_t *)c)->shared;
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc == 0 && (rc = mdb_cursor_open(txn, s->dbi, &cur)) != 0)
        mdb_txn_abort(txn);
    if (rc != 0)
        return lmdb_fail(c, err, "scan", rc);
    size_t plen = strlen(prefix);
    int64_t now_ms = sl_cache_now_ms(c);
    MDB_val k = {plen, (void *)prefix}, v;
    char key[SL_KEY_MAX_BYTES + 1];
    rc = mdb_cursor_get(cur, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0 && k.mv_size >= plen &&
           memcmp(k.mv_data, prefix, plen) == 0) {
        if (is_live(&v, now_ms) && k.mv_size < sizeof key) {
            memcpy(key, k.mv_data, k.mv_size);
            key[k.mv_size] = '\0';
            if (visit(key, v.mv_size - EXPIRY_BYTES, ctx))
                break;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return 0;
}

/* Takes lock_key for token inside txn unless a live lock holds it; says in
 * *is_taken whether it did. Returns an LMDB error code, or 0. */
static int
take_lock(shared_env_t *s, MDB_txn *txn, const char *lock_key,
          const char *token, int64_t ttl_ms, int64_t now_ms, bool *is_taken)
{
    MDB_val k = {strlen(lock_key), (void *)lock_key}, v;
    *is_taken = false;
    if (mdb_get(txn, s->dbi, &k, &v) == 0 && is_live(&v, now_ms))
        return 0;
    int rc = put(s, txn, lock_key, token, strlen(token), ttl_ms, now_ms);
    *is_taken = rc == 0;
    return rc;
}

/* Locks live in the same database as entries, with an expiry, and are
 * checked and taken inside one write transaction (LMDB runs one at a time
 * across the processes of the machine). */
static int
lmdb_lock_batch(sl_cache_t *c, const char *const *lock_keys,
                const char *const *tokens, size_t count, int64_t ttl_ms,
                int *rcs, sl_error_t *err)
{
    shared_env_t *s = ((lmdb_cache_t *)c)->shared;
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != 0)
        return lmdb_fail(c, err, "begin", rc);
    for (size_t i = 0; i < count && rc == 0; i++) {
        bool is_taken;
        rc = take_lock(s, txn, lock_keys[i], tokens[i], ttl_ms,
                       sl_cache_now_ms(c), &is_taken);
        rcs[i] = is_taken ? 0 : SL_EEXIST;
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        for (size_t i = 0; i < count; i++)
            rcs[i] = SL_ECACHE;
        return lmdb_fail(c, err, "lock", rc);
    }
    rc = mdb_txn_commit(txn);
    return rc == 0 ? 0 : lmdb_fail(c, err, "commit", rc);
}

static int
lmdb_unlock(sl_cache_t *c, const char *lock_key, const char *token,
            sl_error_t *err)
{
    shared_env_t *s = ((lmdb_cache_t *)c)->shared;
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != 0)
        return lmdb_fail(c, err, "begin", rc);
    bool is_ours = del_if_ours(s, txn, lock_key, token);
    rc = mdb_txn_commit(txn);
    if (rc != 0)
        return lmdb_fail(c, err, "commit", rc);
    return is_ours ? 0 : SL_ENOTFOUND;
}

static int
lmdb_probe_batch(sl_cache_t *c, sl_cache_probe_t *probes, size_t count,
                 int64_t lock_ttl_ms, sl_error_t *err)
{
    shared_env_t *s = ((lmdb_cache_t *)c)->shared;
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != 0)
        return lmdb_fail(c, err, "begin", rc);
    int64_t now_ms = sl_cache_now_ms(c);
    for (size_t i = 0; i < count && rc == 0; i++) {
        sl_cache_probe_t *p = &probes[i];
        char lk[SL_CACHE_LOCK_KEY_BYTES];
        MDB_val k = {strlen(p->key), (void *)p->key}, v;
        if (mdb_get(txn, s->dbi, &k, &v) == 0 && is_live(&v, now_ms)) {
            p->value.size = 0;
            p->rc = read_value(&v, &p->value);
            continue;
        }
        p->rc = SL_ENOTFOUND;
        if (!p->token)
            continue; /* a lookup only */
        sl_cache_lock_key(lk, sizeof lk, p->key);
        rc =
            take_lock(s, txn, lk, p->token, lock_ttl_ms, now_ms, &p->is_locked);
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        for (size_t i = 0; i < count; i++) {
            probes[i].rc = SL_ECACHE;
            probes[i].is_locked = false;
        }
        return lmdb_fail(c, err, "probe", rc);
    }
    rc = mdb_txn_commit(txn);
    return rc == 0 ? 0 : lmdb_fail(c, err, "commit", rc);
}

static void
lmdb_destroy(sl_cache_t *c)
{
    release_env(((lmdb_cache_t *)c)->shared);
    free(c);
}

static const sl_cache_ops_t lmdb_ops = {
    lmdb_get_batch, lmdb_set_batch,   NULL,
    lmdb_del,       lmdb_scan,        lmdb_lock_batch,
    lmdb_unlock,    lmdb_probe_batch, lmdb_destroy,
};

sl_cache_t *
sl_cache_lmdb_new(const char *url, sl_error_t *err)
{
    const char *path = url + strlen("lmdb://");
    if (!*path) {
        sl_error_set(err, SL_EINVAL, "cache URL '%s': no path", url);
        return NULL;
    }
    lmdb_cache_t *l = calloc(1, sizeof *l);
    if (!l || !(l->base.url = strdup(url))) {
        free(l);
        sl_error_set(err, SL_ENOMEM, "out of memory");
        return NULL;
    }
    l->base.ops = &lmdb_ops;
    l->shared = acquire_env(path, err);
    if (!l->shared) {
        free(l->base.url);
        free(l);
        return NULL;
    }
    return &l->base;
}
