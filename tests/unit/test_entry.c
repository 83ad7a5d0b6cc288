/* tests/unit/test_entry.c: cache entries (common/entry.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "caps.h"
#include "entry.h"

#include <stdio.h>
#include <string.h>

static void
test_entry_round_trip_keeps_every_field(void **state)
{
    (void)state;
    uint8_t args[2][SL_DIGEST_BYTES] = {{1}, {2}};
    sl_entry_t e = {.value = sl_value_new_string("v"),
                    .task = "add",
                    .version = 3,
                    .has_input_digest = true,
                    .arg_digests = args,
                    .arg_count = 2,
                    .created_ms = 1000,
                    .expires_ms = 2000,
                    .duration_us = 77,
                    .producer = "w1"};
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
    /* format 1 (before entries named their key) is refused */
    assert_int_equal(sl_entry_decode("\x08\x01", 2, &e, &err), SL_EINVAL);
}

static void
hex(const uint8_t *d, char *out)
{
    for (int i = 0; i < SL_DIGEST_BYTES; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

/* Golden vectors from tests/unit/digest_vectors.py (docs/CACHING.md):
 * another language's worker must write the same digest. */
static void
test_entry_key_digest_golden_vectors(void **state)
{
    (void)state;
    uint8_t d[SL_DIGEST_BYTES];
    char h[2 * SL_DIGEST_BYTES + 1];
    sl_entry_key_digest("sluice:v1:default:add_numbers", d);
    hex(d, h);
    assert_string_equal(h, "74747aced079b8cdad311f7c35241b1d349ddcb8b34a3edf6ef"
                           "46558e58d381e");
    sl_entry_key_digest("sluice:v1:default:add_numbers:"
                        "4f54fafdb0335ef832b4bcdb78a23e70c07f753ba76bb8082670be"
                        "9be8b6c3fa",
                        d);
    hex(d, h);
    assert_string_equal(h, "9fe83435634a6e2c7c85d76594b6b4d28969cade24274fe2e35"
                           "c46609864df69");
}

/* An entry is read only under the key it was stored for: garbage, another
 * message, another key's entry and anything over the cap are misses. */
static void
test_entry_read_checks_the_key(void **state)
{
    (void)state;
    sl_entry_t e = {.value = sl_value_new_int(15),
                    .task = "mul",
                    .version = 1,
                    .producer = "w1"};
    sl_entry_key_digest("k:3x5", e.key_digest);
    sl_buf_t b = {0};
    assert_int_equal(sl_entry_encode(&e, &b, NULL), 0);
    sl_entry_t back = {0};
    sl_error_t err = {0};
    assert_int_equal(sl_entry_read(b.data, b.size, "k:3x5", &back, &err),
                     SL_ENTRY_OK);
    assert_int_equal(sl_value_get_int(back.value), 15);
    sl_entry_fini(&back);
    assert_int_equal(sl_entry_read(b.data, b.size, "k:6x7", &back, &err),
                     SL_ENTRY_OTHER_KEY);
    assert_null(back.value);
    assert_non_null(strstr(err.msg, "made for another key"));
    assert_int_equal(sl_entry_read("\x08\x01", 2, "k:6x7", &back, &err),
                     SL_ENTRY_CORRUPT); /* format 1, no key: not null */
    assert_int_equal(sl_entry_read("\x08\x02\x22\x03mul", 7, "k:6x7", &back,
                                   &err),
                     SL_ENTRY_CORRUPT); /* another message type */
    assert_int_equal(sl_entry_read(b.data, SL_CACHE_READ_MAX_BYTES + 1, "k:3x5",
                                   &back, &err),
                     SL_ENTRY_TOO_LARGE);
    assert_string_equal(sl_entry_verdict_name(SL_ENTRY_OTHER_KEY), "other_key");
    sl_value_destroy(&e.value);
    sl_buf_fini(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_round_trip_keeps_every_field),
        cmocka_unit_test(test_entry_key_digest_golden_vectors),
        cmocka_unit_test(test_entry_read_checks_the_key),
        cmocka_unit_test(test_entry_corrupt_bytes_are_an_error_not_a_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
