/* tests/unit/test_duration.c: durations as people write them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "duration.h"

#include <sluice/error.h>

static void
test_duration_units(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t ms;
    } ok[] = {{"500ms", 500},    {"30s", 30000},
              {"10m", 600000},   {"1h", 3600000},
              {"7d", 604800000}, {"15", 15000},
              {"1.5s", 1500},    {"forever", SL_DURATION_FOREVER}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ms = 0;
        assert_int_equal(sl_duration_parse(ok[i].text, &ms), 0);
        assert_int_equal(ms, ok[i].ms);
    }
}

static void
test_duration_refuses_nonsense(void **state)
{
    (void)state;
    const char *bad[] = {"", "h", "-1s", "1y", "1 h", "ever", "1e300d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        assert_int_equal(sl_duration_parse(bad[i], &ms), SL_EINVAL);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_units),
        cmocka_unit_test(test_duration_refuses_nonsense),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
