/* tests/unit/test_hist.c: the latency histogram (common/hist.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hist.h"

static void
test_hist_small_values_are_exact(void **state)
{
    (void)state;
    sl_hist_t *h = sl_hist_new();
    for (uint64_t v = 1; v <= 50; v++)
        sl_hist_add(h, v);
    assert_int_equal(sl_hist_count(h), 50);
    assert_int_equal(sl_hist_min(h), 1);
    assert_int_equal(sl_hist_max(h), 50);
    assert_int_equal(sl_hist_quantile(h, 0.5), 25);
    assert_int_equal(sl_hist_quantile(h, 0.99), 50);
    assert_int_equal(sl_hist_quantile(h, 0), 1);
    assert_true(sl_hist_mean(h) > 25.49 && sl_hist_mean(h) < 25.51);
    sl_hist_destroy(&h);
    assert_null(h);
    sl_hist_destroy(&h); /* NULL-safe */
}

/* 1..1,000,000 each once: every quantile within 1/128 (under 1 %) of the
 * truth. */
static void
test_hist_quantiles_are_within_its_relative_error(void **state)
{
    (void)state;
    sl_hist_t *h = sl_hist_new();
    for (uint64_t v = 1; v <= 1000000; v++)
        sl_hist_add(h, v);
    const double qs[] = {0.1, 0.5, 0.9, 0.99, 0.999};
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
        double truth = qs[i] * 1e6, got = (double)sl_hist_quantile(h, qs[i]);
        assert_true(got >= truth * (1 - 1.0 / 128) - 1);
        assert_true(got <= truth * (1 + 1.0 / 128) + 1);
    }
    assert_int_equal(sl_hist_quantile(h, 1), 1000000);
    sl_hist_destroy(&h);
}

static void
test_hist_never_reports_above_its_largest_value(void **state)
{
    (void)state;
    sl_hist_t *h = sl_hist_new();
    sl_hist_add(h, 1000001); /* its bucket reaches past it */
    assert_int_equal(sl_hist_quantile(h, 0.5), 1000001);
    sl_hist_add(h, UINT64_MAX);
    assert_int_equal(sl_hist_quantile(h, 1), UINT64_MAX);
    assert_int_equal(sl_hist_max(h), UINT64_MAX);
    sl_hist_destroy(&h);
}

static void
count_buckets(uint64_t low, uint64_t high, uint64_t count, void *ctx)
{
    uint64_t *totals = ctx;
    assert_true(low <= high);
    assert_true(low > totals[1] || totals[0] == 0); /* smallest first */
    totals[0] += count;
    totals[1] = high;
}

static void
test_hist_merge_and_buckets_add_up(void **state)
{
    (void)state;
    sl_hist_t *a = sl_hist_new(), *b = sl_hist_new(), *empty = sl_hist_new();
    for (uint64_t v = 0; v < 5000; v += 7)
        sl_hist_add(a, v);
    for (uint64_t v = 3; v < 900000; v += 1013)
        sl_hist_add(b, v);
    uint64_t total = sl_hist_count(a) + sl_hist_count(b);
    sl_hist_merge(a, b);
    sl_hist_merge(a, empty);
    assert_int_equal(sl_hist_count(a), total);
    assert_int_equal(sl_hist_min(a), 0);
    assert_int_equal(sl_hist_max(a), sl_hist_max(b));
    uint64_t totals[2] = {0, 0};
    sl_hist_each(a, count_buckets, totals);
    assert_int_equal(totals[0], total);
    assert_int_equal(sl_hist_quantile(empty, 0.5), 0);
    assert_int_equal(sl_hist_min(empty), 0);
    sl_hist_destroy(&a);
    sl_hist_destroy(&b);
    sl_hist_destroy(&empty);
}

/* Buckets as (low, count) pairs, in order. */
typedef struct {
    uint64_t low[8192], count[8192];
    size_t n;
} buckets_t;

static void
collect(uint64_t low, uint64_t high, uint64_t count, void *ctx)
{
    buckets_t *b = ctx;
    (void)high;
    assert_true(b->n < 8192);
    b->low[b->n] = low;
    b->count[b->n++] = count;
}

/* Two workers' histograms merged count what one histogram of every sample
 * counts, bucket for bucket, so their quantiles are the same too. */
static void
test_hist_merge_is_exact(void **state)
{
    (void)state;
    sl_hist_t *a = sl_hist_new(), *b = sl_hist_new(), *all = sl_hist_new();
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        uint64_t v = (x % 2000000) + (i % 97 == 0 ? x % 5000000000ull : 0);
        sl_hist_add(i % 3 ? a : b, v);
        sl_hist_add(all, v);
    }
    sl_hist_merge(a, b);
    static buckets_t merged, whole;
    merged.n = whole.n = 0;
    sl_hist_each(a, collect, &merged);
    sl_hist_each(all, collect, &whole);
    assert_int_equal(merged.n, whole.n);
    assert_memory_equal(merged.low, whole.low, whole.n * sizeof(uint64_t));
    assert_memory_equal(merged.count, whole.count, whole.n * sizeof(uint64_t));
    const double qs[] = {0.5, 0.9, 0.99, 0.999, 0.9999, 1};
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++)
        assert_int_equal(sl_hist_quantile(a, qs[i]),
                         sl_hist_quantile(all, qs[i]));
    assert_int_equal(sl_hist_min(a), sl_hist_min(all));
    assert_int_equal(sl_hist_max(a), sl_hist_max(all));
    sl_hist_destroy(&a);
    sl_hist_destroy(&b);
    sl_hist_destroy(&all);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_small_values_are_exact),
        cmocka_unit_test(test_hist_quantiles_are_within_its_relative_error),
        cmocka_unit_test(test_hist_never_reports_above_its_largest_value),
        cmocka_unit_test(test_hist_merge_and_buckets_add_up),
        cmocka_unit_test(test_hist_merge_is_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
