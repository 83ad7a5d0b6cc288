/* tests/unit/test_cache_lmdb.c: the embedded LMDB cache
 * (common/cache_lmdb.c), in a fresh directory per test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cache.h"
#include "cache_contract.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char url[256];

static int
make_dir(void **state)
{
    (void)state;
    char dir[] = "/tmp/sluice-lmdb-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    snprintf(url, sizeof url, "lmdb://%s/nested/cache", dir);
    return 0;
}

static void
test_lmdb_set_get_del(void **s)
{
    (void)s;
    sl_test_cache_set_get_del(url);
}
static void
test_lmdb_batch_get(void **s)
{
    (void)s;
    sl_test_cache_batch_get(url);
}
static void
test_lmdb_lock_batch(void **s)
{
    (void)s;
    sl_test_cache_lock_batch_and_store_unlocks(url);
}
static void
test_lmdb_probe(void **s)
{
    (void)s;
    sl_test_cache_probe(url, false);
}
static void
test_lmdb_batch_set(void **s)
{
    (void)s;
    sl_test_cache_batch_set(url);
}
static void
test_lmdb_ttl_expires(void **s)
{
    (void)s;
    sl_test_cache_ttl_expires(url);
}
static void
test_lmdb_scan_by_prefix(void **s)
{
    (void)s;
    sl_test_cache_scan_by_prefix(url);
}
static void
test_lmdb_locks(void **s)
{
    (void)s;
    sl_test_cache_locks(url);
}
static void
test_lmdb_refuses_bad_arguments(void **s)
{
    (void)s;
    sl_test_cache_refuses_bad_arguments(url);
}

static void
test_lmdb_two_handles_share_one_environment(void **state)
{
    (void)state;
    sl_cache_t *a = sl_cache_new(url, NULL), *b = sl_cache_new(url, NULL);
    sl_buf_t out = {0};
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(sl_cache_set(a, "shared", "1", 1, 60000, NULL), 0);
    assert_int_equal(sl_cache_get(b, "shared", &out, NULL), 0);
    sl_cache_destroy(&a);
    assert_int_equal(sl_cache_get(b, "shared", &out, NULL), 0);
    sl_cache_destroy(&b);
    sl_buf_fini(&out);
}

/* Entries in the file, expired or not (LMDB's own count). */
static size_t
raw_entries(const char *path)
{
    MDB_env *env;
    MDB_stat st = {0};
    mdb_env_create(&env);
    if (mdb_env_open(env, path, MDB_RDONLY | MDB_NOTLS, 0600) == 0)
        mdb_env_stat(env, &st);
    mdb_env_close(env);
    return st.ms_entries;
}

static void
test_lmdb_writes_sweep_expired_entries(void **state)
{
    (void)state;
    sl_cache_t *c = sl_cache_new(url, NULL);
    char key[32];
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "old:%02d", i);
        assert_int_equal(sl_cache_set(c, key, "v", 1, 50, NULL), 0);
    }
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    /* each write sweeps 16 entries on from where the last sweep stopped,
     * wrapping around: six writes cover the 46 entries twice over */
    for (int i = 0; i < 6; i++) {
        snprintf(key, sizeof key, "new:%d", i);
        assert_int_equal(sl_cache_set(c, key, "v", 1, 60000, NULL), 0);
    }
    sl_cache_destroy(&c); /* closes the environment: LMDB allows one */
    assert_int_equal(raw_entries(url + strlen("lmdb://")), 6);
}

static void
test_lmdb_unusable_path_is_a_clear_error(void **state)
{
    (void)state;
    sl_error_t err = {0};
    assert_null(sl_cache_new("lmdb:///proc/no-such/dir", &err));
    assert_int_equal(err.code, SL_ECACHE);
    assert_non_null(strstr(err.msg, "/proc/no-such/dir"));
    assert_null(sl_cache_new("lmdb://", &err));
    assert_non_null(strstr(err.msg, "no path"));
}

static void
test_lmdb_default_url_follows_the_environment(void **state)
{
    (void)state;
    setenv("SLUICE_CACHE_DIR", "/x/y", 1);
    char *u = sl_cache_default_url();
    assert_string_equal(u, "lmdb:///x/y");
    free(u);
    unsetenv("SLUICE_CACHE_DIR");
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    u = sl_cache_default_url();
    assert_string_equal(u, "lmdb:///xdg/sluice");
    free(u);
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/home/u", 1);
    u = sl_cache_default_url();
    assert_string_equal(u, "lmdb:///home/u/.cache/sluice");
    free(u);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_lmdb_set_get_del, make_dir),
        cmocka_unit_test_setup(test_lmdb_batch_get, make_dir),
        cmocka_unit_test_setup(test_lmdb_batch_set, make_dir),
        cmocka_unit_test_setup(test_lmdb_probe, make_dir),
        cmocka_unit_test_setup(test_lmdb_lock_batch, make_dir),
        cmocka_unit_test_setup(test_lmdb_ttl_expires, make_dir),
        cmocka_unit_test_setup(test_lmdb_scan_by_prefix, make_dir),
        cmocka_unit_test_setup(test_lmdb_refuses_bad_arguments, make_dir),
        cmocka_unit_test_setup(test_lmdb_locks, make_dir),
        cmocka_unit_test_setup(test_lmdb_two_handles_share_one_environment,
                               make_dir),
        cmocka_unit_test_setup(test_lmdb_writes_sweep_expired_entries,
                               make_dir),
        cmocka_unit_test(test_lmdb_unusable_path_is_a_clear_error),
        cmocka_unit_test(test_lmdb_default_url_follows_the_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
