/* tests/unit/test_cache_redis.c: the Redis cache (common/cache_redis.c)
 * against a real redis-server started on a free port, fresh per test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cache.h"
#include "cache_contract.h"
#include "redis_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static sl_test_redis_t redis;

static int
start(void **state)
{
    (void)state;
    redis.port = 0;
    return sl_test_redis_start(&redis);
}

static int
stop(void **state)
{
    (void)state;
    sl_test_redis_stop(&redis);
    return 0;
}

static void
test_redis_set_get_del(void **s)
{
    (void)s;
    sl_test_cache_set_get_del(redis.url);
}
static void
test_redis_batch_get(void **s)
{
    (void)s;
    sl_test_cache_batch_get(redis.url);
}
static void
test_redis_lock_batch(void **s)
{
    (void)s;
    sl_test_cache_lock_batch_and_store_unlocks(redis.url);
}
static void
test_redis_probe(void **s)
{
    (void)s;
    sl_test_cache_probe(redis.url, true);
}
static void
test_redis_batch_set(void **s)
{
    (void)s;
    sl_test_cache_batch_set(redis.url);
}
/* A store in two halves (the executor answers between them): its reply is
 * read by the wait, or first thing by the next call, whose commands go
 * behind the store's (a lookup sees its entry); a store the server
 * refuses is sent fine and fails in the wait, naming why, even when
 * another call read its replies first. */
static void
test_redis_store_is_waited_for_later(void **s)
{
    (void)s;
    sl_cache_t *c = sl_cache_new(redis.url, NULL);
    sl_cache_item_t one = {"late:1", "one", 3, 60000};
    sl_cache_item_t two = {"late:2", "two", 3, 60000};
    sl_buf_t out = {0};
    sl_error_t err = {0};
    char cmd[128];
    assert_non_null(c);
    assert_int_equal(sl_cache_set_batch_send(c, &one, 1, NULL), 0);
    assert_int_equal(sl_cache_get(c, "late:1", &out, NULL), 0); /* in step */
    assert_memory_equal(out.data, "one", 3);
    assert_int_equal(sl_cache_set_batch_wait(c, NULL), 0); /* nothing owed */
    snprintf(cmd, sizeof cmd,
             "redis-cli -p %d config set maxmemory 1 >/dev/null", redis.port);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(sl_cache_set_batch_send(c, &two, 1, &err), 0);
    assert_int_equal(sl_cache_set_batch_wait(c, &err), SL_ECACHE);
    assert_non_null(strstr(err.msg, "OOM"));
    assert_int_equal(sl_cache_get(c, "late:2", &out, NULL), SL_ENOTFOUND);
    err = (sl_error_t){0};
    assert_int_equal(sl_cache_set_batch_send(c, &two, 1, &err), 0);
    assert_int_equal(sl_cache_get(c, "late:1", &out, NULL), 0);    /* behind */
    assert_int_equal(sl_cache_set_batch_wait(c, &err), SL_ECACHE); /* kept */
    assert_non_null(strstr(err.msg, "OOM"));
    assert_int_equal(sl_cache_set_batch_wait(c, NULL), 0);      /* said once */
    assert_int_equal(sl_cache_get(c, "late:1", &out, NULL), 0); /* usable */
    sl_buf_fini(&out);
    sl_cache_destroy(&c);
}

static void
test_redis_ttl_expires(void **s)
{
    (void)s;
    sl_test_cache_ttl_expires(redis.url);
}
static void
test_redis_scan_by_prefix(void **s)
{
    (void)s;
    sl_test_cache_scan_by_prefix(redis.url);
}
static void
test_redis_locks(void **s)
{
    (void)s;
    sl_test_cache_locks(redis.url);
}
static void
test_redis_refuses_bad_arguments(void **s)
{
    (void)s;
    sl_test_cache_refuses_bad_arguments(redis.url);
}

/* A clock the tests drive: no test waits out a backoff. */
static int64_t fake_ms = 1000000;

static int64_t
fake_clock(void *ctx)
{
    (void)ctx;
    return fake_ms;
}

static void
test_redis_down_is_a_cache_error_that_fails_fast(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", sl_test_free_port());
    sl_error_t err = {0};
    sl_cache_t *c = sl_cache_new(url, &err); /* connects lazily: opens */
    sl_buf_t out = {0};
    assert_non_null(c);
    sl_cache_set_clock(c, fake_clock, NULL);
    assert_int_equal(sl_cache_get(c, "k", &out, &err), SL_ECACHE);
    assert_non_null(strstr(err.msg, "127.0.0.1"));
    for (int i = 0; i < 100; i++) { /* in backoff: no connect attempt */
        assert_int_equal(sl_cache_set(c, "k", "v", 1, 1000, &err), SL_ECACHE);
        assert_non_null(strstr(err.msg, "next attempt in 100 ms"));
    }
    fake_ms += 100; /* the backoff is over: it tries, fails, doubles */
    assert_int_equal(sl_cache_get(c, "k", &out, &err), SL_ECACHE);
    assert_int_equal(sl_cache_get(c, "k", &out, &err), SL_ECACHE);
    assert_non_null(strstr(err.msg, "next attempt in 200 ms"));
    sl_cache_destroy(&c);
}

/* Stops the server and starts it again on the same port. */
static void
restart_redis(void)
{
    int port = redis.port;
    sl_test_redis_stop(&redis);
    redis.port = port;
    assert_int_equal(sl_test_redis_start(&redis), 0);
}

static void
test_redis_reconnects_after_a_restart(void **state)
{
    (void)state;
    sl_cache_t *c = sl_cache_new(redis.url, NULL);
    sl_buf_t out = {0};
    sl_error_t err = {0};
    int port = redis.port;
    sl_cache_set_clock(c, fake_clock, NULL);
    assert_int_equal(sl_cache_set(c, "k", "v", 1, 60000, NULL), 0);
    sl_test_redis_stop(&redis);
    assert_int_equal(sl_cache_get(c, "k", &out, NULL), SL_ECACHE);
    /* same port again: the same cache object finds it after its backoff */
    redis.port = port;
    assert_int_equal(sl_test_redis_start(&redis), 0);
    assert_int_equal(sl_cache_get(c, "k", &out, &err), SL_ECACHE);
    assert_non_null(strstr(err.msg, "next attempt in 100 ms"));
    fake_ms += 100;
    assert_int_equal(sl_cache_get(c, "k", &out, NULL), SL_ENOTFOUND);
    assert_int_equal(sl_cache_set(c, "k", "w", 1, 60000, NULL), 0);
    sl_cache_destroy(&c);
    sl_buf_fini(&out);
}

/* Redis restarted while the connection sat idle: the first call after the
 * quiet spell succeeds (the dead connection is found with a PING and
 * replaced), instead of failing and waiting out a backoff. */
static void
test_redis_idle_connection_survives_a_restart(void **state)
{
    (void)state;
    sl_cache_t *c = sl_cache_new(redis.url, NULL);
    sl_buf_t out = {0};
    sl_cache_set_clock(c, fake_clock, NULL);
    assert_int_equal(sl_cache_set(c, "k", "v", 1, 60000, NULL), 0);
    restart_redis();
    fake_ms += 1200; /* past the idle check */
    assert_int_equal(sl_cache_get(c, "k", &out, NULL), SL_ENOTFOUND);
    assert_int_equal(sl_cache_set(c, "k", "w", 1, 60000, NULL), 0);
    assert_int_equal(sl_cache_get(c, "k", &out, NULL), 0);
    sl_cache_destroy(&c);
    sl_buf_fini(&out);
}

/* AUTH as an ACL user: the password from the URL or the environment; a
 * wrong one is an error that says AUTH failed and never shows it. */
static void
test_redis_auth(void **state)
{
    (void)state;
    char cmd[200], url[128];
    sl_error_t err = {0};
    sl_buf_t out = {0};
    snprintf(cmd, sizeof cmd,
             "redis-cli -p %d ACL SETUSER app on '>s3cret-pw' '~*' '&*' +@all "
             ">/dev/null",
             redis.port);
    assert_int_equal(system(cmd), 0);
    unsetenv("SLUICE_REDIS_PASSWORD");

    snprintf(url, sizeof url, "redis://app:wrong-pw@127.0.0.1:%d/0",
             redis.port);
    sl_cache_t *c = sl_cache_new(url, &err);
    assert_non_null(c);
    assert_int_equal(sl_cache_get(c, "k", &out, &err), SL_ECACHE);
    assert_non_null(strstr(err.msg, "AUTH"));
    assert_non_null(strstr(err.msg, "WRONGPASS"));
    assert_null(strstr(err.msg, "wrong-pw"));
    sl_cache_destroy(&c);

    snprintf(url, sizeof url, "redis://app:s3cret-pw@127.0.0.1:%d/0",
             redis.port);
    c = sl_cache_new(url, &err);
    assert_int_equal(sl_cache_set(c, "k", "v", 1, 60000, &err), 0);
    sl_cache_destroy(&c);

    setenv("SLUICE_REDIS_PASSWORD", "s3cret-pw", 1);
    snprintf(url, sizeof url, "redis://app@127.0.0.1:%d/0", redis.port);
    c = sl_cache_new(url, &err);
    assert_non_null(c);
    assert_null(strstr(sl_cache_url(c), "s3cret"));
    assert_int_equal(sl_cache_get(c, "k", &out, &err), 0);
    assert_memory_equal(out.data, "v", 1);
    sl_cache_destroy(&c);
    unsetenv("SLUICE_REDIS_PASSWORD");
    sl_buf_fini(&out);
}

/* A command line never carries a Redis password; the environment may. */
static void
test_cli_url_refuses_a_password_on_the_command_line(void **state)
{
    (void)state;
    sl_error_t err = {0};
    const char *url = NULL;
    unsetenv("SLUICE_CACHE_URL");
    assert_int_equal(sl_cache_cli_url("redis://u:pw@h:1/0", &url, &err),
                     SL_EINVAL);
    assert_non_null(strstr(err.msg, "SLUICE_REDIS_PASSWORD"));
    assert_int_equal(sl_cache_cli_url("redis://:pw@h/0", &url, &err),
                     SL_EINVAL);
    assert_int_equal(sl_cache_cli_url("redis://u@h:1/0", &url, &err), 0);
    assert_string_equal(url, "redis://u@h:1/0");
    assert_int_equal(sl_cache_cli_url("lmdb:///tmp/a@b:c", &url, &err), 0);
    assert_int_equal(sl_cache_cli_url(NULL, &url, &err), 0);
    assert_null(url);
    setenv("SLUICE_CACHE_URL", "redis://u:pw@h:1/0", 1);
    assert_int_equal(sl_cache_cli_url(NULL, &url, &err), 0);
    assert_string_equal(url, "redis://u:pw@h:1/0");
    unsetenv("SLUICE_CACHE_URL");
}

static void
test_redis_url_errors_name_the_problem(void **state)
{
    (void)state;
    sl_error_t err = {0};
    assert_null(sl_cache_new("redis://", &err));
    assert_non_null(strstr(err.msg, "no host"));
    assert_null(sl_cache_new("redis://h:99999/0", &err));
    assert_non_null(strstr(err.msg, "bad port"));
    assert_null(sl_cache_new("redis://h:1/x", &err));
    assert_non_null(strstr(err.msg, "bad database"));
    sl_cache_t *c = sl_cache_new("redis://:secret@h:1/2", &err);
    assert_non_null(c);
    assert_string_equal(sl_cache_url(c), "redis://:***@h:1/2");
    sl_cache_destroy(&c);
    /* a bad URL's error never shows its password */
    assert_null(sl_cache_new("redis://u:hunter2@h:99999/0", &err));
    assert_null(strstr(err.msg, "hunter2"));
    assert_non_null(strstr(err.msg, "redis://u:***@h:99999/0"));
    assert_null(sl_cache_new("rediss://u:hunter2@h/0", &err));
    assert_null(strstr(err.msg, "hunter2"));
}

static void
test_redact_hides_only_the_password(void **state)
{
    (void)state;
    char out[128];
    assert_string_equal(sl_cache_redact("redis://:pw@h:1/2", out, sizeof out),
                        "redis://:***@h:1/2");
    assert_string_equal(sl_cache_redact("redis://u:p@ss@h/0", out, sizeof out),
                        "redis://u:***@h/0"); /* a password holding an @ */
    assert_string_equal(sl_cache_redact("redis://u@h/0", out, sizeof out), "red"
                                                                           "is:"
                                                                           "//"
                                                                           "u@"
                                                                           "h/"
                                                                           "0");
    assert_string_equal(sl_cache_redact("redis://h:6379/0", out, sizeof out),
                        "redis://h:6379/0");
    assert_string_equal(sl_cache_redact("lmdb:///var/c@x:y", out, sizeof out),
                        "lmdb:///var/c@x:y"); /* a path, no credentials */
    assert_string_equal(sl_cache_redact(NULL, out, sizeof out), "");
    assert_string_equal(sl_cache_redact("redis://:pw@h/0", out, 12),
                        "redis://:**"); /* cut, never overrun */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_redis_set_get_del, start, stop),
        cmocka_unit_test_setup_teardown(test_redis_auth, start, stop),
        cmocka_unit_test(test_cli_url_refuses_a_password_on_the_command_line),
        cmocka_unit_test_setup_teardown(test_redis_batch_get, start, stop),
        cmocka_unit_test_setup_teardown(test_redis_batch_set, start, stop),
        cmocka_unit_test_setup_teardown(test_redis_probe, start, stop),
        cmocka_unit_test_setup_teardown(test_redis_lock_batch, start, stop),
        cmocka_unit_test_setup_teardown(test_redis_store_is_waited_for_later,
                                        start, stop),
        cmocka_unit_test_setup_teardown(test_redis_ttl_expires, start, stop),
        cmocka_unit_test_setup_teardown(test_redis_scan_by_prefix, start, stop),
        cmocka_unit_test_setup_teardown(test_redis_refuses_bad_arguments, start,
                                        stop),
        cmocka_unit_test_setup_teardown(test_redis_locks, start, stop),
        cmocka_unit_test(test_redis_down_is_a_cache_error_that_fails_fast),
        cmocka_unit_test_setup_teardown(
            test_redis_idle_connection_survives_a_restart, start, stop),
        cmocka_unit_test_setup_teardown(test_redis_reconnects_after_a_restart,
                                        start, stop),
        cmocka_unit_test(test_redis_url_errors_name_the_problem),
        cmocka_unit_test(test_redact_hides_only_the_password),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
