/* tests/unit/test_arrival.c: the open-loop arrival schedule
 * (common/arrival.c): constant rates, ramps, the cap, stages of rate 0,
 * the shares of several workers, and what it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "arrival.h"

#include <math.h>
#include <string.h>

#define S  1000000000ull
#define MS 1000000ull

static sl_arrival_t a; /* large: not on the stack */

static void
init(double start, const sl_arrival_stage_t *st, size_t n, double cap)
{
    sl_error_t err = {0};
    if (sl_arrival_init(&a, start, st, n, cap, &err) < 0)
        fail_msg("refused: %s", err.msg);
}

/* Times never go back, and all fall inside the schedule. */
static void
assert_monotonic(uint64_t end_ns)
{
    uint64_t last = 0;
    for (uint64_t k = 0; k < a.total; k++) {
        uint64_t t = sl_arrival_at(&a, k);
        assert_true(t >= last && t < end_ns);
        last = t;
    }
}

static void
test_arrival_constant_rate_spaces_requests_evenly(void **state)
{
    (void)state;
    sl_arrival_stage_t one = {1000, 1 * S};
    init(1000, &one, 1, 0);
    assert_int_equal(a.total, 1000);
    assert_int_equal(sl_arrival_at(&a, 0), 0);
    assert_int_equal(sl_arrival_at(&a, 1), 1 * MS);
    assert_int_equal(sl_arrival_at(&a, 999), 999 * MS);
    assert_true(sl_arrival_at(&a, 1000) == UINT64_MAX);
    /* a rate that does not divide the second: within one request */
    sl_arrival_stage_t odd = {1234.5, 3 * S};
    init(1234.5, &odd, 1, 0);
    assert_int_equal(a.total, 3704); /* 3703.5 due: k = 0 .. 3703 */
    assert_monotonic(3 * S);
}

static void
test_arrival_ramps_linearly(void **state)
{
    (void)state;
    /* 0 to 100/s over 10 s: 500 requests, k due at sqrt(k / 5) s */
    sl_arrival_stage_t up = {100, 10 * S};
    init(0, &up, 1, 0);
    assert_int_equal(a.total, 500);
    assert_int_equal(sl_arrival_at(&a, 125), 5 * S);
    assert_int_equal(sl_arrival_at(&a, 20), 2 * S);
    assert_monotonic(10 * S);
    /* up, hold, down to 0, as k6's stages */
    sl_arrival_stage_t st[] = {{100, 10 * S}, {100, 5 * S}, {0, 10 * S}};
    init(0, st, 3, 0);
    assert_int_equal(a.total, 500 + 500 + 500);
    assert_int_equal(sl_arrival_at(&a, 500), 10 * S);
    assert_int_equal(sl_arrival_at(&a, 550), 10 * S + 500 * MS);
    assert_int_equal(sl_arrival_at(&a, 1000), 15 * S);
    assert_monotonic(25 * S);
}

static void
test_arrival_cap_is_hard_and_stages_of_rate_zero_send_nothing(void **state)
{
    (void)state;
    /* 0 to 200/s over 10 s, capped at 100: the ramp to 5 s (250), then
     * 100/s for 5 s (500) */
    sl_arrival_stage_t up = {200, 10 * S};
    init(0, &up, 1, 100);
    assert_int_equal(a.total, 750);
    assert_int_equal(sl_arrival_at(&a, 250), 5 * S);
    assert_int_equal(sl_arrival_at(&a, 260), 5 * S + 100 * MS);
    for (uint64_t k = 251; k < a.total; k++) /* never faster than the cap */
        assert_true(sl_arrival_at(&a, k) - sl_arrival_at(&a, k - 1) >=
                    10 * MS - 1);
    /* a pause: nothing is due during it */
    sl_arrival_stage_t st[] = {{10, 1 * S}, {0, 0}, {0, 2 * S}, {10, 0}};
    st[1].duration_ns = 1; /* the drop to 0 */
    st[3].duration_ns = 1 * S;
    init(10, st, 4, 0);
    assert_int_equal(a.total, 10 + 5);
    assert_int_equal(sl_arrival_at(&a, 9), 900 * MS);
    assert_true(sl_arrival_at(&a, 10) > 3 * S); /* after the pause */
    assert_monotonic(4 * S + 1);
}

static void
test_arrival_shares_cover_every_request_once(void **state)
{
    (void)state;
    sl_arrival_stage_t one = {1000, 1 * S + 3};
    init(1000, &one, 1, 0);
    uint64_t sum = 0;
    for (uint64_t w = 0; w < 7; w++) {
        uint64_t n = sl_arrival_share(&a, w, 7);
        assert_true(n == a.total / 7 || n == a.total / 7 + 1);
        sum += n;
    }
    assert_int_equal(sum, a.total);
    assert_int_equal(sl_arrival_share(&a, 7, 7), 0);
    assert_int_equal(sl_arrival_share(&a, 0, 0), 0);
}

static void
test_arrival_refuses_bad_schedules_saying_why(void **state)
{
    (void)state;
    sl_error_t err = {0};
    sl_arrival_stage_t ok = {10, S}, bad[] = {{10, S}, {-1, S}};
    assert_int_equal(sl_arrival_init(&a, 0, &ok, 0, 0, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "1 to 64 stages"));
    assert_int_equal(sl_arrival_init(&a, 0, bad, 2, 0, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "stage 2: target -1"));
    assert_int_equal(sl_arrival_init(&a, NAN, &ok, 1, 0, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "start rate"));
    assert_int_equal(sl_arrival_init(&a, 0, &ok, 1, INFINITY, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "max rate"));
    sl_arrival_stage_t none = {10, 0};
    assert_int_equal(sl_arrival_init(&a, 0, &none, 1, 0, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "stage 1: a duration"));
    sl_arrival_stage_t huge = {1e12, 200000 * S};
    assert_int_equal(sl_arrival_init(&a, 1e12, &huge, 1, 0, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "over 2^53"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arrival_constant_rate_spaces_requests_evenly),
        cmocka_unit_test(test_arrival_ramps_linearly),
        cmocka_unit_test(
            test_arrival_cap_is_hard_and_stages_of_rate_zero_send_nothing),
        cmocka_unit_test(test_arrival_shares_cover_every_request_once),
        cmocka_unit_test(test_arrival_refuses_bad_schedules_saying_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
