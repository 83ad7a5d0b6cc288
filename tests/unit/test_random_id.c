/* tests/unit/test_random_id.c: random hex ids (common/random_id.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "random_id.h"

#include <string.h>

static void
test_random_id_is_hex_of_the_length_asked(void **state)
{
    (void)state;
    char id[40];
    memset(id, 'x', sizeof id);
    sl_random_id(id, 8);
    assert_int_equal(strlen(id), 16);
    assert_int_equal(strspn(id, "0123456789ABCDEF"), 16);
    sl_random_id(id, 0);
    assert_string_equal(id, "");
}

static void
test_random_ids_differ(void **state)
{
    (void)state;
    char a[17], b[17];
    sl_random_id(a, 8);
    for (int i = 0; i < 1000; i++) { /* 64 random bits: never equal */
        sl_random_id(b, 8);
        assert_string_not_equal(a, b);
    }
}

static void
test_random_id_caps_its_length(void **state)
{
    (void)state;
    char id[65] = "";
    sl_random_id(id, 100); /* at most 32 bytes: 64 digits */
    assert_int_equal(strlen(id), 64);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_id_is_hex_of_the_length_asked),
        cmocka_unit_test(test_random_ids_differ),
        cmocka_unit_test(test_random_id_caps_its_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
