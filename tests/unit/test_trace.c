/* tests/unit/test_trace.c: per-hop timestamps (common/trace.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "scratch.h"
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
test_trace_writes_its_points_in_order(void **state)
{
    (void)state;
    char dir[256], path[300], tag[64];
    unsigned long long first = 0, second = 0;
    sl_test_scratch_new(dir, sizeof dir, "trace");
    snprintf(path, sizeof path, "%s/points", dir);
    size_t before = sl_trace_count();
    sl_trace("test.first");
    sl_trace("test.second");
    assert_int_equal(sl_trace_count(), before + 2);
    assert_int_equal(sl_trace_write(path), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    for (size_t i = 0; i < before; i++)
        assert_int_equal(fscanf(f, "%llu %63s", &first, tag), 2);
    assert_int_equal(fscanf(f, "%llu %63s", &first, tag), 2);
    assert_string_equal(tag, "test.first");
    assert_int_equal(fscanf(f, "%llu %63s", &second, tag), 2);
    assert_string_equal(tag, "test.second");
    assert_true(first > 0 && second >= first);
    assert_int_equal(fscanf(f, "%llu %63s", &second, tag), EOF);
    fclose(f);
    sl_test_scratch_remove(dir);
}

static void
test_trace_says_when_it_cannot_write(void **state)
{
    (void)state;
    sl_trace("test.point");
    assert_int_equal(sl_trace_write("/nonexistent-folder/points"), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_writes_its_points_in_order),
        cmocka_unit_test(test_trace_says_when_it_cannot_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
