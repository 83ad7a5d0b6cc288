/* tests/unit/test_cache_pool.c: an executor's cache connections
 * (worker/cache_pool.c): a pinned connection never changes or closes,
 * however many URLs are taken; idle ones are trimmed to the limit, least
 * recently used first. Real LMDB caches in a scratch folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "scratch.h"

#include "cache_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URLS 12

typedef struct {
    char dir[64];         /* scratch folder */
    char urls[URLS][128]; /* lmdb:// URLs in it, one folder each */
} fixture_t;

static int
setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    sl_test_scratch_new(f->dir, sizeof f->dir, "pool");
    for (int i = 0; i < URLS; i++)
        snprintf(f->urls[i], sizeof f->urls[i], "lmdb://%s/c%d", f->dir, i);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture_t *f = *state;
    sl_test_scratch_remove(f->dir);
    free(f);
    return 0;
}

/* The 9th URL of a batch must not take over the 8th's connection while
 * the 8th is in use: the bug that served one flow another's entry. */
static void
test_pool_pinned_connections_never_change(void **state)
{
    fixture_t *f = *state;
    sl_cache_pool_t *pool = sl_cache_pool_new(8);
    sl_pooled_cache_t *held[URLS];
    sl_cache_t *caches[URLS];
    for (int i = 0; i < URLS; i++) {
        held[i] = sl_cache_pool_take(pool, f->urls[i]);
        assert_non_null(held[i]);
        assert_non_null(held[i]->cache);
        caches[i] = held[i]->cache;
    }
    assert_int_equal(sl_cache_pool_count(pool), URLS);
    for (int i = 0; i < URLS; i++) {
        assert_string_equal(held[i]->url, f->urls[i]);
        assert_ptr_equal(held[i]->cache, caches[i]);
        char value[16];
        snprintf(value, sizeof value, "tenant-%d", i);
        assert_int_equal(sl_cache_set(held[i]->cache, "shared", value,
                                      strlen(value), 60000, NULL),
                         0);
    }
    for (int i = 0; i < URLS; i++) { /* each wrote to its own */
        sl_buf_t out = {0};
        char want[16];
        snprintf(want, sizeof want, "tenant-%d", i);
        assert_int_equal(sl_cache_get(held[i]->cache, "shared", &out, NULL), 0);
        assert_int_equal(out.size, strlen(want));
        assert_memory_equal(out.data, want, out.size);
        sl_buf_fini(&out);
    }
    for (int i = 0; i < URLS; i++)
        sl_cache_pool_give(pool, &held[i]);
    assert_null(held[0]);
    assert_int_equal(sl_cache_pool_count(pool), 8);
    sl_cache_pool_destroy(&pool);
    assert_null(pool);
}

static void
test_pool_same_url_same_connection(void **state)
{
    fixture_t *f = *state;
    sl_cache_pool_t *pool = sl_cache_pool_new(2);
    sl_pooled_cache_t *a = sl_cache_pool_take(pool, f->urls[0]);
    sl_pooled_cache_t *b = sl_cache_pool_take(pool, f->urls[0]);
    assert_ptr_equal(a, b);
    assert_int_equal(a->pins, 2);
    assert_int_equal(sl_cache_pool_count(pool), 1);
    sl_cache_pool_give(pool, &a);
    assert_int_equal(b->pins, 1);
    sl_cache_pool_give(pool, &b);
    sl_cache_pool_destroy(&pool);
}

/* Idle connections beyond the limit are closed oldest first; the most
 * recently used stay open and are found again. */
static void
test_pool_trims_least_recently_used(void **state)
{
    fixture_t *f = *state;
    sl_cache_pool_t *pool = sl_cache_pool_new(2);
    for (int i = 0; i < 3; i++) {
        sl_pooled_cache_t *c = sl_cache_pool_take(pool, f->urls[i]);
        sl_cache_pool_give(pool, &c);
    }
    assert_int_equal(sl_cache_pool_count(pool), 2);
    sl_pooled_cache_t *two = sl_cache_pool_take(pool, f->urls[2]);
    sl_pooled_cache_t *one = sl_cache_pool_take(pool, f->urls[1]);
    assert_int_equal(sl_cache_pool_count(pool), 2); /* both were kept */
    sl_pooled_cache_t *zero = sl_cache_pool_take(pool, f->urls[0]);
    assert_int_equal(sl_cache_pool_count(pool), 3); /* all pinned */
    sl_cache_pool_give(pool, &two);
    sl_cache_pool_give(pool, &one);
    sl_cache_pool_give(pool, &zero);
    assert_int_equal(sl_cache_pool_count(pool), 2);
    sl_cache_pool_destroy(&pool);
}

/* A URL that cannot be opened still gets a connection record saying why,
 * so its jobs compute uncached and report the cache error. */
static void
test_pool_bad_url_says_why(void **state)
{
    (void)state;
    sl_cache_pool_t *pool = sl_cache_pool_new(1);
    sl_pooled_cache_t *c = sl_cache_pool_take(pool, "memcached://x");
    assert_non_null(c);
    assert_null(c->cache);
    assert_non_null(strstr(c->error, "unknown scheme"));
    sl_cache_pool_give(pool, &c);
    sl_cache_pool_destroy(&pool);
    sl_cache_pool_destroy(&pool); /* NULL-safe */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_pool_pinned_connections_never_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_same_url_same_connection,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_trims_least_recently_used,
                                        setup, teardown),
        cmocka_unit_test(test_pool_bad_url_says_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
