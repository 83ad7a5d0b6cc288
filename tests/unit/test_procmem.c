/* tests/unit/test_procmem.c: this process's memory (common/procmem.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "procmem.h"

#include <stdlib.h>
#include <string.h>

static void
test_procmem_sees_memory_that_is_touched(void **state)
{
    (void)state;
    uint64_t rss0, peak0, rss1, peak1;
    assert_int_equal(sl_procmem_read(&rss0, &peak0), 0);
    assert_true(rss0 > 0);
    assert_true(peak0 >= rss0);
    size_t size = 64u << 20;
    char *block = malloc(size);
    assert_non_null(block);
    memset(block, 1, size); /* resident only once written */
    assert_int_equal(sl_procmem_read(&rss1, &peak1), 0);
    assert_true(rss1 >= rss0 + size / 2);
    assert_true(peak1 >= rss1);
    free(block);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_procmem_sees_memory_that_is_touched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
