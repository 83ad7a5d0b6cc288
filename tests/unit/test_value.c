/* tests/unit/test_value.c: the value model (common/value.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "value.h"

#include <stdlib.h>
#include <string.h>

static void
test_value_scalars_read_back(void **state)
{
    (void)state;
    sl_value_t *i = sl_value_new_int(-42), *d = sl_value_new_double(2.5);
    sl_value_t *s = sl_value_new_string_len("a\0b", 3);
    size_t size;
    assert_int_equal(sl_value_get_int(i), -42);
    assert_true(sl_value_get_double(d) == 2.5);
    assert_memory_equal(sl_value_get_string(s, &size), "a\0b", 3);
    assert_int_equal(size, 3);
    bool ok;
    assert_true(sl_value_get_number(i, &ok) == -42.0 && ok);
    sl_value_get_number(s, &ok);
    assert_false(ok);
    assert_int_equal(sl_value_get_int(s), 0); /* wrong type reads as zero */
    sl_value_destroy(&i);
    sl_value_destroy(&d);
    sl_value_destroy(&s);
    assert_null(s);
}

static void
test_value_put_replaces_a_key(void **state)
{
    (void)state;
    sl_value_t *m = sl_value_new_map(), *one = sl_value_new_int(1),
               *two = sl_value_new_int(2);
    assert_int_equal(sl_value_put(m, "k", &one), 0);
    assert_null(one);
    assert_int_equal(sl_value_put(m, "k", &two), 0);
    assert_int_equal(sl_value_count(m), 1);
    assert_int_equal(sl_value_get_int(sl_value_lookup(m, "k")), 2);
    sl_value_destroy(&m);
}

static void
test_value_push_to_a_non_list_consumes_and_fails(void **state)
{
    (void)state;
    sl_value_t *m = sl_value_new_map(), *item = sl_value_new_int(1);
    assert_int_equal(sl_value_push(m, &item), SL_EINVAL);
    assert_null(item);
    assert_int_equal(sl_value_count(m), 0);
    sl_value_destroy(&m);
}

static sl_value_t *
sample(bool is_reversed)
{
    sl_value_t *m = sl_value_new_map(), *l = sl_value_new_list();
    sl_value_t *a = sl_value_new_string("x"), *b = sl_value_new_bool(true);
    sl_value_push(l, &a);
    sl_value_push(l, &b);
    sl_value_t *n = sl_value_new_null(), *by = sl_value_new_bytes("\x01", 1);
    if (is_reversed) {
        sl_value_put(m, "bytes", &by);
        sl_value_put(m, "list", &l);
        sl_value_put(m, "null", &n);
    } else {
        sl_value_put(m, "null", &n);
        sl_value_put(m, "list", &l);
        sl_value_put(m, "bytes", &by);
    }
    return m;
}

static void
test_value_copy_is_equal_and_map_order_does_not_matter(void **state)
{
    (void)state;
    sl_value_t *a = sample(false), *b = sample(true), *c = sl_value_copy(a);
    assert_true(sl_value_equal(a, b));
    assert_true(sl_value_equal(a, c));
    sl_value_t *x = sl_value_new_int(9);
    sl_value_put(c, "null", &x);
    assert_false(sl_value_equal(a, c));
    assert_int_equal(sl_value_depth(a), 3);
    sl_value_destroy(&a);
    sl_value_destroy(&b);
    sl_value_destroy(&c);
}

static void
test_value_json_escapes_and_marks_bytes(void **state)
{
    (void)state;
    sl_value_t *m = sample(false), *s = sl_value_new_string("q\"\n");
    sl_value_put(m, "s", &s);
    char *json = sl_value_to_json(m);
    assert_string_equal(json, "{\"null\":null,\"list\":[\"x\",true],\"bytes\":{"
                              "\"$bytes\":\"01\"},\"s\":\"q\\\"\\n\"}");
    free(json);
    sl_value_destroy(&m);
}

/* A string may hold any bytes; its JSON is valid UTF-8 all the same: each
 * byte outside a valid sequence becomes U+FFFD (on fdda4fe it was copied,
 * and `sluice run --json` printed text no JSON parser took). */
static void
test_value_json_of_a_string_that_is_not_utf8_is_valid(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t size;
        const char *out;
    } cases[] = {
        {"caf\xc3\xa9", 5, "\"caf\xc3\xa9\""}, /* valid: kept */
        {"\xe2\x82\xac\xf0\x9f\x98\x80", 7,
         "\"\xe2\x82\xac\xf0\x9f\x98\x80\""}, /* 3 and 4 bytes */
        {"a\xff"
         "b",
         3, "\"a\\ufffdb\""},                             /* a stray byte */
        {"\xc3", 1, "\"\\ufffd\""},                       /* cut short */
        {"\xc0\xaf", 2, "\"\\ufffd\\ufffd\""},            /* overlong */
        {"\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""}, /* surrogate */
        {"\xf4\x90\x80\x80", 4,
         "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* past 10FFFF */
        {"nul\0x", 5, "\"nul\\u0000x\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sl_value_t *v = sl_value_new_string_len(cases[i].in, cases[i].size);
        char *json = sl_value_to_json(v);
        if (strcmp(json, cases[i].out) != 0)
            fail_msg("case %zu: %s", i, json);
        free(json);
        sl_value_destroy(&v);
    }
}

static void
test_value_take_leaves_null(void **state)
{
    (void)state;
    sl_value_t *m = sample(false);
    sl_value_t *l = sl_value_take(m, 1);
    assert_int_equal(sl_value_type(l), SL_LIST);
    assert_int_equal(sl_value_type(sl_value_lookup(m, "list")), SL_NULL);
    assert_null(sl_value_take(m, 7));
    sl_value_destroy(&l);
    sl_value_destroy(&m);
}

static void
test_value_duplicate_key_is_found(void **state)
{
    (void)state;
    sl_value_t *m = sl_value_new_map(), *a = sl_value_new_int(1),
               *b = sl_value_new_int(2), *c = sl_value_new_int(3);
    sl_value_append_unchecked(m, "a", 1, &a);
    sl_value_append_unchecked(m, "b", 1, &b);
    assert_null(sl_value_duplicate_key(m));
    sl_value_append_unchecked(m, "a", 1, &c);
    assert_string_equal(sl_value_duplicate_key(m), "a");
    sl_value_destroy(&m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_scalars_read_back),
        cmocka_unit_test(test_value_put_replaces_a_key),
        cmocka_unit_test(test_value_push_to_a_non_list_consumes_and_fails),
        cmocka_unit_test(
            test_value_copy_is_equal_and_map_order_does_not_matter),
        cmocka_unit_test(test_value_json_escapes_and_marks_bytes),
        cmocka_unit_test(test_value_json_of_a_string_that_is_not_utf8_is_valid),
        cmocka_unit_test(test_value_take_leaves_null),
        cmocka_unit_test(test_value_duplicate_key_is_found),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
