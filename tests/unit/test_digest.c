/* tests/unit/test_digest.c: the canonical encoding and the digests behind
 * cache keys. The golden vectors were derived independently by
 * digest_vectors.py from the grammar in common/digest.c; a change here
 * changes every cache key in the world and needs a new key prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "digest.h"
#include "flow.h"

#include <math.h>
#include <string.h>

static void
assert_digest(const sl_value_t *v, const char *hex_expected)
{
    uint8_t d[SL_DIGEST_BYTES];
    char hex[SL_DIGEST_HEX_BYTES];
    assert_int_equal(sl_digest_value(v, d), 0);
    sl_digest_hex(d, hex);
    assert_string_equal(hex, hex_expected);
}

static sl_value_t *
list3(sl_value_t *a, sl_value_t *b, sl_value_t *c)
{
    sl_value_t *l = sl_value_new_list();
    sl_value_push(l, &a);
    sl_value_push(l, &b);
    if (c)
        sl_value_push(l, &c);
    return l;
}

static sl_value_t *
map2(const char *k1, sl_value_t *v1, const char *k2, sl_value_t *v2)
{
    sl_value_t *m = sl_value_new_map();
    sl_value_put(m, k1, &v1);
    sl_value_put(m, k2, &v2);
    return m;
}

static void
test_digest_golden_scalars(void **state)
{
    (void)state;
#define CHECK(make, hex)                                                       \
    do {                                                                       \
        sl_value_t *x = (make);                                                \
        assert_digest(x, hex);                                                 \
        sl_value_destroy(&x);                                                  \
    } while (0)
    CHECK(sl_value_new_null(), "be42f9777572b1c9400b38485493f88d5d28313e8cac8e6"
                               "97809f069a967789f");
    CHECK(sl_value_new_bool(true), "896101c4be605c55e540b0967c4059791b7e4e0a5f2"
                                   "b11a46074e89c8a27eb66");
    CHECK(sl_value_new_bool(false), "e4fa7873bef573a05208bc5ab48e0092480ebba255"
                                    "7e97e863bd00ff96125ef5");
    CHECK(sl_value_new_int(0), "bff5d050a20af8dd0a63435be489a17c7675a7a805ce352"
                               "d907a74cee03b6af2");
    CHECK(sl_value_new_int(-1), "403d2321c621b272e4869e98c98725eecfdea0f0c03123"
                                "84cc404091e9d144b9");
    CHECK(sl_value_new_int(INT64_MAX), "d14e050c04596b563696dd9d509bea57522b86a"
                                       "a623a96c4b3e388b2203c248f");
    CHECK(sl_value_new_int(INT64_MIN), "93dcf76439e2086317c993e8be86c2869356958"
                                       "d76d53af1e6cbc0bcb6ed6591");
    CHECK(sl_value_new_double(1.5), "c103139507d58c3072086ea72d88251af2f69fdadd"
                                    "c7fac6327f991526539cc5");
    CHECK(sl_value_new_double(-0.0), "08a2325904e8de16bd825671249a264fe43769bc9"
                                     "5c0e6ab722f284aa69a3944");
    CHECK(sl_value_new_double(NAN), "647f96b69f0026efd025d622420dd2887912da212d"
                                    "27922450020f33a4ee408a");
    CHECK(sl_value_new_string("hello"), "89082a125a7c48685e019c887c73a3559ccb52"
                                        "65a1c9fdce2e728ce2aaf2e098");
    CHECK(sl_value_new_bytes("\x00\x01\x02", 3), "9491b157ff6e4d857d75a29023225"
                                                 "5bdab48ae1f1668c2855a18b4e9b0"
                                                 "60dbdc");
}

static void
test_digest_golden_containers(void **state)
{
    (void)state;
    CHECK(list3(sl_value_new_int(1), sl_value_new_string("a"),
                sl_value_new_null()),
          "c56fa6c42e9ce329fe8bb4c634ff3f3c11de022bba631d06db0059f05a4ee5cd");
    CHECK(map2("b", sl_value_new_int(1), "a",
               list3(sl_value_new_bool(true),
                     map2("y", sl_value_new_int(2), "x", sl_value_new_int(1)),
                     NULL)),
          "fc9bdd3dee88cee6038bb250acfa6c2ce01a33c5976f07e8e3a5f350c97dc931");
}

static void
test_digest_same_for_reordered_map_keys(void **state)
{
    (void)state;
    sl_value_t *a =
        map2("a",
             list3(sl_value_new_bool(true),
                   map2("x", sl_value_new_int(1), "y", sl_value_new_int(2)),
                   NULL),
             "b", sl_value_new_int(1));
    CHECK(a, "fc9bdd3dee88cee6038bb250acfa6c2ce01a33c5976f07e8e3a5f350c97dc93"
             "1");
}

static void
test_digest_task_golden(void **state)
{
    (void)state;
    uint8_t d[SL_DIGEST_BYTES];
    char hex[SL_DIGEST_HEX_BYTES];
    sl_value_t *args = list3(sl_value_new_int(5), sl_value_new_int(10), NULL);
    assert_int_equal(sl_digest_task("add_numbers", 1, args, d), 0);
    sl_digest_hex(d, hex);
    assert_string_equal(hex, "4f54fafdb0335ef832b4bcdb78a23e70c07f753ba76bb8082"
                             "670be9be8b6c3fa");
    /* another version of the same task and args is another key */
    uint8_t d2[SL_DIGEST_BYTES];
    assert_int_equal(sl_digest_task("add_numbers", 2, args, d2), 0);
    assert_memory_not_equal(d, d2, SL_DIGEST_BYTES);
    sl_value_destroy(&args);
}

/* [name, BYTES digest of content] */
static sl_value_t *
file_pair(const char *name, const char *content)
{
    uint8_t d[SL_DIGEST_BYTES];
    assert_int_equal(sl_digest_bytes(content, strlen(content), d), 0);
    return list3(sl_value_new_string(name), sl_value_new_bytes(d, sizeof d),
                 NULL);
}

/* The broker's identity of a job: the call's digest keyed by its node's
 * settings, in one pass: the same for the same call and key, another for
 * another key, other files, or no key at all. */
static void
test_digest_task_keyed(void **state)
{
    (void)state;
    uint8_t k1[SL_DIGEST_BYTES] = {1}, k2[SL_DIGEST_BYTES] = {2};
    uint8_t a[SL_DIGEST_BYTES], b[SL_DIGEST_BYTES], plain[SL_DIGEST_BYTES];
    sl_value_t *args = sl_value_new_list(), *x = sl_value_new_int(7);
    sl_value_t *files = sl_value_new_list(), *f = file_pair("a", "A");
    sl_value_push(args, &x);
    sl_value_push(files, &f);
    assert_int_equal(sl_digest_task_keyed("add", 1, args, NULL, k1, a), 0);
    assert_int_equal(sl_digest_task_keyed("add", 1, args, NULL, k1, b), 0);
    assert_memory_equal(a, b, SL_DIGEST_BYTES);
    assert_int_equal(sl_digest_task_keyed("add", 1, args, NULL, k2, b), 0);
    assert_memory_not_equal(a, b, SL_DIGEST_BYTES);
    assert_int_equal(sl_digest_task_keyed("add", 1, args, files, k1, b), 0);
    assert_memory_not_equal(a, b, SL_DIGEST_BYTES);
    assert_int_equal(sl_digest_task("add", 1, args, plain), 0);
    assert_memory_not_equal(a, plain, SL_DIGEST_BYTES);
    sl_value_destroy(&args);
    sl_value_destroy(&files);
}

static void
test_digest_task_with_files_golden(void **state)
{
    (void)state;
    uint8_t d[SL_DIGEST_BYTES], plain[SL_DIGEST_BYTES];
    char hex[SL_DIGEST_HEX_BYTES];
    sl_value_t *args = sl_value_new_list(), *files = sl_value_new_list();
    sl_value_t *a = sl_value_new_string("a.txt"),
               *f = file_pair("a.txt", "15000 words\n");
    sl_value_push(args, &a);
    sl_value_push(files, &f);
    assert_int_equal(sl_digest_task_files("wordcount", 1, args, files, d), 0);
    sl_digest_hex(d, hex);
    assert_string_equal(hex, "5d508ce3e30792888777c220aab27b31def2053bdbde4c3ee"
                             "09b2cd497ecdc6d");
    /* no files: the key of a task that declares none, unchanged */
    sl_value_t *none = sl_value_new_list();
    assert_int_equal(sl_digest_task_files("wordcount", 1, args, none, d), 0);
    assert_int_equal(sl_digest_task("wordcount", 1, args, plain), 0);
    assert_memory_equal(d, plain, SL_DIGEST_BYTES);
    sl_value_destroy(&none);
    sl_value_destroy(&files);
    sl_value_destroy(&args);
    /* a program task: its own file first, then its inputs */
    sl_value_t *call = NULL;
    sl_error_t err = {0};
    assert_int_equal(sl_flow_parse_value("[[wc, '-w', a.txt], [], {}, json]",
                                         &call, &err),
                     0);
    files = list3(file_pair("$program", "prog"),
                  file_pair("a.txt", "15000 words\n"), NULL);
    assert_int_equal(sl_digest_task_files("exec", 1, call, files, d), 0);
    sl_digest_hex(d, hex);
    assert_string_equal(hex, "42fc67245dd554177d38312891abafc97ca25770f8f2adc21"
                             "b63af92f01bf96f");
    sl_value_destroy(&files);
    sl_value_destroy(&call);
}

static void
digest_of(sl_value_t *v, uint8_t d[SL_DIGEST_BYTES])
{
    assert_int_equal(sl_digest_value(v, d), 0);
    sl_value_destroy(&v);
}

static void
test_digest_types_are_distinct(void **state)
{
    (void)state;
    uint8_t a[SL_DIGEST_BYTES], b[SL_DIGEST_BYTES];
    digest_of(sl_value_new_int(1), a);
    digest_of(sl_value_new_double(1.0), b);
    assert_memory_not_equal(a, b, SL_DIGEST_BYTES);
    digest_of(sl_value_new_string("a"), a);
    digest_of(sl_value_new_bytes("a", 1), b);
    assert_memory_not_equal(a, b, SL_DIGEST_BYTES);
    digest_of(sl_value_new_double(0.0), a);
    digest_of(sl_value_new_double(-0.0), b);
    assert_memory_equal(a, b, SL_DIGEST_BYTES);
    /* ["ab"] and ["a","b"] must not collide: lengths are encoded */
    digest_of(list3(sl_value_new_string("ab"), sl_value_new_string(""), NULL),
              a);
    digest_of(list3(sl_value_new_string("a"), sl_value_new_string("b"), NULL),
              b);
    assert_memory_not_equal(a, b, SL_DIGEST_BYTES);
}

static void
test_digest_refuses_too_deep(void **state)
{
    (void)state;
    sl_value_t *v = sl_value_new_int(1);
    for (int i = 0; i < SL_VALUE_MAX_DEPTH + 1; i++) {
        sl_value_t *l = sl_value_new_list();
        sl_value_push(l, &v);
        v = l;
    }
    uint8_t d[SL_DIGEST_BYTES];
    assert_int_equal(sl_digest_value(v, d), SL_EINVAL);
    sl_value_destroy(&v);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_golden_scalars),
        cmocka_unit_test(test_digest_golden_containers),
        cmocka_unit_test(test_digest_same_for_reordered_map_keys),
        cmocka_unit_test(test_digest_task_golden),
        cmocka_unit_test(test_digest_task_with_files_golden),
        cmocka_unit_test(test_digest_task_keyed),
        cmocka_unit_test(test_digest_types_are_distinct),
        cmocka_unit_test(test_digest_refuses_too_deep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
