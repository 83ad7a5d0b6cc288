/* tests/unit/test_entry.c: cache entries (common/entry.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "entry.h"

#include <string.h>

static void
test_entry_round_trip_keeps_every_field(void **state)
{
    (void)state;
    uint8_t args[2][SL_DIGEST_BYTES] = {{1}, {2}};
    sl_entry_t e = {.value = sl_value_new_string("v"), .task = "add",
                    .version = 3, .has_input_digest = true,
                    .arg_digests = args, .arg_count = 2, .created_ms = 1000,
                    .expires_ms = 2000, .duration_us = 77, .producer = "w1"};
    memset(e.input_digest, 0xab, SL_DIGEST_BYTES);
    sl_buf_t b = {0};
    assert_int_equal(sl_entry_encode(&e, &b, NULL), 0);
    sl_entry_t back = {0};
    assert_int_equal(sl_entry_decode(b.data, b.size, &back, NULL), 0);
    assert_true(sl_value_equal(e.value, back.value));
    assert_string_equal(back.task, "add");
    assert_int_equal(back.version, 3);
    assert_true(back.has_input_digest);
    assert_memory_equal(back.input_digest, e.input_digest, SL_DIGEST_BYTES);
    assert_int_equal(back.arg_count, 2);
    assert_memory_equal(back.arg_digests[1], args[1], SL_DIGEST_BYTES);
    assert_int_equal(back.created_ms, 1000);
    assert_int_equal(back.expires_ms, 2000);
    assert_int_equal(back.duration_us, 77);
    assert_string_equal(back.producer, "w1");
    sl_entry_fini(&back);
    sl_value_destroy(&e.value);
    sl_buf_fini(&b);
}

static void
test_entry_corrupt_bytes_are_an_error_not_a_crash(void **state)
{
    (void)state;
    sl_entry_t e = {0};
    sl_error_t err = {0};
    assert_int_equal(sl_entry_decode("\x08\x07garbage", 9, &e, &err),
                     SL_EINVAL);
    assert_null(e.value);
    assert_non_null(strstr(err.msg, "cache entry"));
    /* a valid message of another format is refused too */
    assert_int_equal(sl_entry_decode("\x08\x07", 2, &e, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "format 7"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_round_trip_keeps_every_field),
        cmocka_unit_test(test_entry_corrupt_bytes_are_an_error_not_a_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
