/* tests/unit/cache_contract.c: the cache backend contract, as assertions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cache_contract.h"

#include "cache.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static sl_cache_t *
open_cache(const char *url)
{
    sl_error_t err = {0};
    sl_cache_t *c = sl_cache_new(url, &err);
    if (!c)
        fail_msg("open %s: %s", url, err.msg);
    return c;
}

void
sl_test_cache_set_get_del(const char *url)
{
    sl_cache_t *c = open_cache(url);
    sl_buf_t out = {0};
    assert_int_equal(sl_cache_get(c, "t:k", &out, NULL), SL_ENOTFOUND);
    assert_int_equal(sl_cache_set(c, "t:k", "v\0x", 3, 60000, NULL), 0);
    assert_int_equal(sl_cache_get(c, "t:k", &out, NULL), 0);
    assert_int_equal(out.size, 3);
    assert_memory_equal(out.data, "v\0x", 3);
    assert_int_equal(sl_cache_set(c, "t:k", "w", 1, SL_TTL_FOREVER, NULL), 0);
    assert_int_equal(sl_cache_get(c, "t:k", &out, NULL), 0);
    assert_memory_equal(out.data, "w", 1);
    assert_int_equal(sl_cache_del(c, "t:k", NULL), 0);
    assert_int_equal(sl_cache_del(c, "t:k", NULL), SL_ENOTFOUND);
    assert_int_equal(sl_cache_get(c, "t:k", &out, NULL), SL_ENOTFOUND);
    sl_buf_fini(&out);
    sl_cache_destroy(&c);
    assert_null(c);
}

void
sl_test_cache_batch_get(const char *url)
{
    sl_cache_t *c = open_cache(url);
    const char *keys[] = {"b:1", "b:missing", "b:2"};
    sl_buf_t outs[3] = {{0}};
    int rcs[3];
    assert_int_equal(sl_cache_set(c, "b:1", "one", 3, 60000, NULL), 0);
    assert_int_equal(sl_cache_set(c, "b:2", "two", 3, 60000, NULL), 0);
    assert_int_equal(sl_cache_get_batch(c, keys, 3, outs, rcs, NULL), 0);
    assert_int_equal(rcs[0], 0);
    assert_int_equal(rcs[1], SL_ENOTFOUND);
    assert_int_equal(rcs[2], 0);
    assert_string_equal(outs[0].data, "one");
    assert_string_equal(outs[2].data, "two");
    for (int i = 0; i < 3; i++)
        sl_buf_fini(&outs[i]);
    sl_cache_destroy(&c);
}

void
sl_test_cache_batch_set(const char *url)
{
    sl_cache_t *c = open_cache(url);
    sl_cache_item_t items[] = {{"s:1", "one", 3, 60000},
                               {"s:2", "two\0", 4, SL_TTL_FOREVER},
                               {"s:3", "", 0, 100}};
    sl_buf_t out = {0};
    sl_error_t err = {0};
    assert_int_equal(sl_cache_set_batch(c, items, 3, NULL), 0);
    assert_int_equal(sl_cache_get(c, "s:1", &out, NULL), 0);
    assert_string_equal(out.data, "one");
    assert_int_equal(sl_cache_get(c, "s:2", &out, NULL), 0);
    assert_int_equal(out.size, 4);
    /* an empty value reads as absent (Redis GETRANGE cannot tell them
     * apart; no entry or lock is empty) */
    assert_int_equal(sl_cache_get(c, "s:3", &out, NULL), SL_ENOTFOUND);
    /* one bad item: nothing of the batch is stored, and the error says why */
    sl_cache_item_t bad[] = {{"s:4", "four", 4, 60000}, {"s:5", "x", 1, 0}};
    assert_int_equal(sl_cache_set_batch(c, bad, 2, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "TTL of 0 ms"));
    assert_int_equal(sl_cache_get(c, "s:4", &out, NULL), SL_ENOTFOUND);
    assert_int_equal(sl_cache_set_batch(c, bad, 0, NULL), 0);
    sl_buf_fini(&out);
    sl_cache_destroy(&c);
}

void
sl_test_cache_ttl_expires(const char *url)
{
    sl_cache_t *c = open_cache(url);
    sl_buf_t out = {0};
    assert_int_equal(sl_cache_set(c, "ttl:k", "v", 1, 100, NULL), 0);
    assert_int_equal(sl_cache_get(c, "ttl:k", &out, NULL), 0);
    struct timespec ts = {0, 250 * 1000 * 1000};
    nanosleep(&ts, NULL);
    assert_int_equal(sl_cache_get(c, "ttl:k", &out, NULL), SL_ENOTFOUND);
    sl_buf_fini(&out);
    sl_cache_destroy(&c);
}

static int
count_key(const char *key, size_t size, void *ctx)
{
    size_t *n = ctx;
    assert_int_equal(strncmp(key, "scan:", 5), 0);
    assert_int_equal(size, 2);
    ++*n;
    return 0;
}

void
sl_test_cache_scan_by_prefix(const char *url)
{
    sl_cache_t *c = open_cache(url);
    char key[32];
    size_t n = 0;
    for (int i = 0; i < 25; i++) {
        snprintf(key, sizeof key, "scan:%d", i);
        assert_int_equal(sl_cache_set(c, key, "xy", 2, 60000, NULL), 0);
    }
    assert_int_equal(sl_cache_set(c, "other:1", "xyz", 3, 60000, NULL), 0);
    assert_int_equal(sl_cache_scan(c, "scan:", count_key, &n, NULL), 0);
    assert_int_equal(n, 25);
    sl_cache_destroy(&c);
}

void
sl_test_cache_refuses_bad_arguments(const char *url)
{
    sl_cache_t *c = open_cache(url);
    sl_error_t err = {0};
    char long_key[600];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    assert_int_equal(sl_cache_set(c, "k", "v", 1, 0, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "TTL of 0"));
    assert_int_equal(sl_cache_set(c, long_key, "v", 1, 1000, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "cache key of 599 bytes"));
    assert_int_equal(sl_cache_set(c, "", "v", 1, 1000, &err), SL_EINVAL);
    sl_cache_destroy(&c);
    assert_null(sl_cache_new("memcached://x", &err));
    assert_non_null(strstr(err.msg, "unknown scheme"));
}

void
sl_test_cache_locks(const char *url)
{
    sl_cache_t *c = open_cache(url);
    assert_int_equal(sl_cache_lock(c, "job", "me", 60000, NULL), 0);
    assert_int_equal(sl_cache_lock(c, "job", "you", 60000, NULL), SL_EEXIST);
    assert_int_equal(sl_cache_unlock(c, "job", "you", NULL), SL_ENOTFOUND);
    assert_int_equal(sl_cache_lock(c, "job", "you", 60000, NULL), SL_EEXIST);
    assert_int_equal(sl_cache_unlock(c, "job", "me", NULL), 0);
    assert_int_equal(sl_cache_lock(c, "job", "you", 100, NULL), 0);
    struct timespec ts = {0, 250 * 1000 * 1000};
    nanosleep(&ts, NULL); /* a holder that died: its lock expires */
    assert_int_equal(sl_cache_lock(c, "job", "me", 60000, NULL), 0);
    assert_int_equal(sl_cache_unlock(c, "job", "you", NULL), SL_ENOTFOUND);
    sl_buf_t out = {0};
    assert_int_equal(sl_cache_get(c, "job", &out, NULL), SL_ENOTFOUND);
    sl_buf_fini(&out);
    sl_cache_destroy(&c);
}

void
sl_test_cache_lock_batch_and_store_unlocks(const char *url)
{
    sl_cache_t *c = open_cache(url);
    const char *keys[] = {"a", "b", "c"}, *mine[] = {"me", "me", "me"};
    int rcs[3];
    assert_int_equal(sl_cache_lock(c, "b", "you", 60000, NULL), 0);
    assert_int_equal(sl_cache_lock_batch(c, keys, mine, 3, 60000, rcs, NULL),
                     0);
    assert_int_equal(rcs[0], 0);
    assert_int_equal(rcs[1], SL_EEXIST); /* held by another */
    assert_int_equal(rcs[2], 0);
    /* store a and release its lock; release c without storing; b's lock is
     * not ours: an unlock alone leaves it, a store of its entry takes it
     * (the entry is what the lock was for) */
    sl_cache_item_t items[] = {{"a", "A", 1, 60000, "me"},
                               {"c", NULL, 0, 60000, "me"},
                               {"b", NULL, 0, 60000, "me"}};
    assert_int_equal(sl_cache_set_batch(c, items, 3, NULL), 0);
    sl_buf_t out = {0};
    assert_int_equal(sl_cache_get(c, "a", &out, NULL), 0);
    assert_int_equal(sl_cache_get(c, "c", &out, NULL), SL_ENOTFOUND);
    assert_int_equal(sl_cache_lock(c, "a", "you", 60000, NULL), 0);
    assert_int_equal(sl_cache_lock(c, "c", "you", 60000, NULL), 0);
    assert_int_equal(sl_cache_lock(c, "b", "me", 60000, NULL), SL_EEXIST);
    sl_cache_item_t store_b = {"b", "B", 1, 60000, "me"};
    assert_int_equal(sl_cache_set_batch(c, &store_b, 1, NULL), 0);
    assert_int_equal(sl_cache_get(c, "b", &out, NULL), 0);
    assert_int_equal(sl_cache_lock(c, "b", "me", 60000, NULL), 0);
    assert_int_equal(sl_cache_unlock(c, "b", "me", NULL), 0);
    sl_error_t err = {0};
    assert_int_equal(sl_cache_lock_batch(c, keys, mine, 3, 0, rcs, &err),
                     SL_EINVAL);
    assert_non_null(strstr(err.msg, "TTL"));
    sl_buf_fini(&out);
    sl_cache_destroy(&c);
}

void
sl_test_cache_probe(const char *url, bool does_hit_lock)
{
    sl_cache_t *c = open_cache(url);
    sl_cache_probe_t p[3] = {{.key = "p:hit", .token = "me"},
                             {.key = "p:miss", .token = "me"},
                             {.key = "p:held", .token = "me"}};
    assert_int_equal(sl_cache_set(c, "p:hit", "H", 1, 60000, NULL), 0);
    assert_int_equal(sl_cache_lock(c, "p:held", "you", 60000, NULL), 0);
    assert_int_equal(sl_cache_probe_batch(c, p, 3, 60000, NULL), 0);
    assert_int_equal(p[0].rc, 0);
    assert_int_equal(p[0].value.size, 1);
    assert_memory_equal(p[0].value.data, "H", 1);
    assert_int_equal(p[0].is_locked, does_hit_lock);
    assert_int_equal(p[1].rc, SL_ENOTFOUND);
    assert_true(p[1].is_locked); /* missing: locked for me */
    assert_int_equal(p[2].rc, SL_ENOTFOUND);
    assert_false(p[2].is_locked); /* missing: you hold it */
    assert_int_equal(sl_cache_lock(c, "p:miss", "you", 60000, NULL), SL_EEXIST);
    /* the store releases the locks it names, an unlock-only item too */
    sl_cache_item_t items[] = {{"p:miss", "M", 1, 60000, "me"},
                               {"p:hit", NULL, 0, 0, "me"}};
    assert_int_equal(sl_cache_set_batch(c, items, 2, NULL), 0);
    assert_int_equal(sl_cache_lock(c, "p:miss", "you", 60000, NULL), 0);
    assert_int_equal(sl_cache_lock(c, "p:hit", "you", 60000, NULL), 0);
    sl_error_t err = {0};
    assert_int_equal(sl_cache_probe_batch(c, p, 3, 0, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "TTL"));
    assert_int_equal(sl_cache_probe_batch(c, p, 0, 60000, NULL), 0);
    /* no token: a lookup only, in the same round trip as locking ones */
    sl_cache_probe_t q[3] = {{.key = "q:miss"},
                             {.key = "p:hit"},
                             {.key = "q:other", .token = "me"}};
    assert_int_equal(sl_cache_probe_batch(c, q, 3, 60000, NULL), 0);
    assert_int_equal(q[0].rc, SL_ENOTFOUND);
    assert_false(q[0].is_locked);
    assert_int_equal(sl_cache_lock(c, "q:miss", "you", 60000, NULL), 0);
    assert_int_equal(q[1].rc, 0);
    assert_memory_equal(q[1].value.data, "H", 1);
    assert_false(q[1].is_locked);
    assert_int_equal(q[2].rc, SL_ENOTFOUND);
    assert_true(q[2].is_locked);
    for (int i = 0; i < 3; i++) {
        sl_buf_fini(&p[i].value);
        sl_buf_fini(&q[i].value);
    }
    sl_cache_destroy(&c);
}
