/* tests/unit/test_service.c: the option readers every main.c shares
 * (common/service.c): numbers in bounds are taken, anything else is
 * refused with a line on stderr that names the program, the option and
 * the text, and the value already set is kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What f printed on stderr while it ran; the caller frees it. */
static char *
stderr_of(void (*f)(void *), void *arg)
{
    char path[] = "/tmp/test_service.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    f(arg);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    char *text = calloc(1, 4096);
    assert_non_null(text);
    assert_true(pread(fd, text, 4095, 0) >= 0);
    close(fd);
    unlink(path);
    return text;
}

static void
test_service_number_takes_bounds_and_between(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t want;
    } ok[] = {{"1", 1}, {"1024", 1024}, {"512", 512}, {"0001", 1}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 0;
        assert_int_equal(sl_service_number("p", "--n", ok[i].text, 1, 1024, &v),
                         0);
        assert_int_equal(v, ok[i].want);
    }
    uint64_t v = 7;
    assert_int_equal(sl_service_number("p", "--n", "0", 0, 0, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(sl_service_number("p", "--n", "18446744073709551615", 0,
                                       UINT64_MAX, &v),
                     0);
    assert_true(v == UINT64_MAX);
}

typedef struct {
    const char *text;
    int rc;
    uint32_t value;
} call_t;

static void
call_number32(void *arg)
{
    call_t *c = arg;
    c->rc = sl_service_number32("sluice-worker", "--slots", c->text, 1, 1024,
                                &c->value);
}

static void
test_service_number_refuses_what_is_not_in_bounds(void **state)
{
    (void)state;
    /* out of range, past 32 and 64 bits, signs, white space, fractions,
     * hex, trailing bytes, nothing */
    const char *bad[] = {"0",   "1025", "4294967297", "99999999999999999999",
                         "-1",  "+5",   " 5",         "5 ",
                         "1.5", "0x10", "5k",         "",
                         "abc", "-0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        call_t c = {.text = bad[i], .value = 8};
        char *said = stderr_of(call_number32, &c);
        assert_int_equal(c.rc, -1);
        assert_int_equal(c.value, 8); /* what was set is kept */
        char want[128];
        snprintf(want, sizeof want,
                 "sluice-worker: --slots '%s': give a whole number from 1 to "
                 "1024\n",
                 bad[i]);
        assert_string_equal(said, want);
        free(said);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_service_number_takes_bounds_and_between),
        cmocka_unit_test(test_service_number_refuses_what_is_not_in_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
