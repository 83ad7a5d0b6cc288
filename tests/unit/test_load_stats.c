/* tests/unit/test_load_stats.c: a load test's figures (common/load_stats.c)
 * and the histogram's form on the wire (common/hist.c): two shares' figures,
 * sent as values and merged, are exactly one share's of all the samples;
 * a malformed value is refused and changes nothing. Also the thresholds
 * (common/load_threshold.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "load_stats.h"
#include "load_threshold.h"
#include "buf.h"
#include "wire.h"

#include <string.h>

static uint64_t seed = 42;

static uint64_t
next(void)
{
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return seed >> 33;
}

/* Records one random request into s and into all. */
static void
record(sl_load_stats_t *s, sl_load_stats_t *all, uint64_t i)
{
    uint64_t sec = i / 1000, lag = next() % 3000;
    uint32_t req = (uint32_t)(i % 3);
    sl_load_stats_sent(s, req, sec, lag);
    sl_load_stats_sent(all, req, sec, lag);
    s->bytes_out += 100, all->bytes_out += 100;
    if (next() % 50 == 0) {
        sl_load_error_t kind = (sl_load_error_t)(next() % SL_LOAD_ERR_COUNT);
        sl_load_stats_error(s, req, sec, kind);
        sl_load_stats_error(all, req, sec, kind);
        return;
    }
    long status = next() % 20 == 0 ? 500 : 200;
    uint64_t us = 50 + next() % 100000; /* spread over many buckets */
    sl_load_stats_answered(s, req, sec, status, us, 300);
    sl_load_stats_answered(all, req, sec, status, us, 300);
}

/* v through the wire, as it travels from a worker. */
static sl_value_t *
through_wire(const sl_value_t *v)
{
    sl_buf_t b = {0};
    sl_value_t *back = NULL;
    assert_int_equal(sl_wire_value_encode(v, &b, NULL), 0);
    assert_int_equal(sl_wire_value_decode(b.data, b.size, &back, NULL), 0);
    sl_buf_fini(&b);
    return back;
}

static void
test_load_stats_of_two_shares_merge_exactly(void **state)
{
    (void)state;
    sl_load_stats_t a, b, all, merged;
    assert_int_equal(sl_load_stats_init(&a), 0);
    assert_int_equal(sl_load_stats_init(&b), 0);
    assert_int_equal(sl_load_stats_init(&all), 0);
    assert_int_equal(sl_load_stats_init(&merged), 0);
    for (uint64_t i = 0; i < 100000; i++)
        record(i % 2 ? &a : &b, &all, i);
    a.scheduled = 50000, b.scheduled = 50000, all.scheduled = 100000;
    for (int i = 0; i < 2; i++) {
        sl_value_t *v = sl_load_stats_to_value(i ? &b : &a), *w;
        sl_error_t err = {0};
        assert_non_null(v);
        w = through_wire(v);
        if (sl_load_stats_merge_value(&merged, w, &err) < 0)
            fail_msg("refused: %s", err.msg);
        sl_value_destroy(&v);
        sl_value_destroy(&w);
    }
    /* Every figure is the same as one share's of all the samples. */
    sl_value_t *x = sl_load_stats_to_value(&merged),
               *y = sl_load_stats_to_value(&all);
    assert_true(
        sl_value_equal(sl_value_lookup(x, "latency_us"),
                       sl_value_lookup(y, "latency_us")) ||
        /* sums of doubles may differ in the last bits */
        sl_value_equal(sl_value_lookup(sl_value_lookup(x, "latency_us"), "bucke"
                                                                         "ts"),
                       sl_value_lookup(sl_value_lookup(y, "latency_us"), "bucke"
                                                                         "t"
                                                                         "s")));
    const char *same[] = {"scheduled", "sent",     "answered",   "late",
                          "bytes_out", "bytes_in", "max_lag_us", "status",
                          "errors",    "timeline", "requests"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        if (!sl_value_equal(sl_value_lookup(x, same[i]),
                            sl_value_lookup(y, same[i])))
            fail_msg("%s differs after the merge", same[i]);
    const double qs[] = {0.5, 0.9, 0.99, 0.999, 0.9999, 1};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
        assert_int_equal(sl_hist_quantile(merged.latency_us, qs[i]),
                         sl_hist_quantile(all.latency_us, qs[i]));
    assert_int_equal(sl_hist_min(merged.latency_us),
                     sl_hist_min(all.latency_us));
    assert_int_equal(sl_hist_max(merged.latency_us),
                     sl_hist_max(all.latency_us));
    assert_int_equal(sl_load_stats_failed(&merged), sl_load_stats_failed(&all));
    assert_true(sl_load_stats_failed(&all) > 0);
    assert_int_equal(merged.second_count >= 100, true);
    sl_value_destroy(&x);
    sl_value_destroy(&y);
    sl_load_stats_fini(&a);
    sl_load_stats_fini(&b);
    sl_load_stats_fini(&all);
    sl_load_stats_fini(&merged);
}

/* A share's value with one field replaced by YAML-free construction. */
static sl_value_t *
spoiled(const sl_value_t *good, const char *key, sl_value_t *with)
{
    sl_value_t *v = sl_value_copy(good);
    sl_value_put(v, key, &with);
    return v;
}

static void
test_load_stats_refuse_malformed_values_and_change_nothing(void **state)
{
    (void)state;
    sl_load_stats_t s, into;
    sl_load_stats_init(&s);
    sl_load_stats_init(&into);
    sl_load_stats_sent(&s, 0, 0, 0);
    sl_load_stats_answered(&s, 0, 0, 200, 1000, 10);
    sl_value_t *good = sl_load_stats_to_value(&s);
    sl_value_t *hist = sl_value_copy(sl_value_lookup(good, "latency_us"));
    struct {
        const char *key;
        sl_value_t *with;
        const char *want;
    } bad[] = {
        {"sent", sl_value_new_int(-1), "'sent' must be an integer >= 0"},
        {"answered", sl_value_new_string("1"), "'answered' must be"},
        {"status", sl_value_new_list(), "'status' must be a map"},
        {"timeline", sl_value_new_int(3), "'timeline' must be a list"},
        {"latency_us", sl_value_new_map(), "histogram: 'count'"},
        {"requests", sl_value_new_map(), "'requests' must be a list"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sl_value_t *v = spoiled(good, bad[i].key, bad[i].with);
        sl_error_t err = {0};
        assert_int_equal(sl_load_stats_merge_value(&into, v, &err), SL_EINVAL);
        if (!strstr(err.msg, bad[i].want))
            fail_msg("said '%s', not '%s'", err.msg, bad[i].want);
        sl_value_destroy(&v);
    }
    /* a status that is not a code, an error kind that is not one */
    sl_value_t *codes = sl_value_new_map(), *kinds = sl_value_new_map();
    sl_value_put_int(codes, "2x0", 1);
    sl_value_put_int(kinds, "gremlins", 1);
    const struct {
        const char *key;
        sl_value_t *with;
    } maps[] = {{"status", codes}, {"errors", kinds}};
    for (size_t i = 0; i < 2; i++) {
        sl_value_t *v = spoiled(good, maps[i].key, maps[i].with);
        sl_error_t err = {0};
        assert_int_equal(sl_load_stats_merge_value(&into, v, &err), SL_EINVAL);
        assert_non_null(strstr(err.msg, "is not a known key"));
        sl_value_destroy(&v);
    }
    /* histograms: a low that starts no bucket, counts that do not add
     * up, buckets out of order, a max outside the last bucket */
    const struct {
        int64_t nums[4];
        int n;
        const char *want;
    } hist_bad[] = {
        {{1001, 1}, 2, "starts no bucket"},
        {{1000, 2}, 2, "hold 2 values"},
        {{5, 1, 4, 1}, 4, "out of order"},
    };
    for (size_t i = 0; i < 3; i++) {
        sl_value_t *h = sl_value_copy(hist), *buckets = sl_value_new_list();
        int n = hist_bad[i].n;
        for (int j = 0; j < n; j++) {
            sl_value_t *x = sl_value_new_int(hist_bad[i].nums[j]);
            sl_value_push(buckets, &x);
        }
        if (n == 4)
            sl_value_put_int(h, "count", 2);
        sl_value_put(h, "buckets", &buckets);
        sl_hist_t *into_h = sl_hist_new();
        sl_error_t err = {0};
        assert_int_equal(sl_hist_merge_value(into_h, h, &err), SL_EINVAL);
        if (!strstr(err.msg, hist_bad[i].want))
            fail_msg("said '%s', not '%s'", err.msg, hist_bad[i].want);
        assert_int_equal(sl_hist_count(into_h), 0);
        sl_hist_destroy(&into_h);
        sl_value_destroy(&h);
    }
    /* nothing was added by any refused value */
    assert_int_equal(into.sent, 0);
    assert_int_equal(into.answered, 0);
    assert_int_equal(sl_hist_count(into.latency_us), 0);
    assert_int_equal(into.by_status[200], 0);
    sl_value_destroy(&hist);
    sl_value_destroy(&good);
    sl_load_stats_fini(&s);
    sl_load_stats_fini(&into);
}

static void
test_load_thresholds_parse_and_judge(void **state)
{
    (void)state;
    sl_load_stats_t s;
    sl_load_threshold_t t;
    sl_error_t err = {0};
    sl_load_stats_init(&s);
    for (int i = 0; i < 1000; i++) {
        sl_load_stats_sent(&s, 0, 0, i < 10 ? 5000 : 0); /* 1 % late */
        if (i < 2)
            sl_load_stats_error(&s, 0, 0, SL_LOAD_ERR_TIMEOUT);
        else
            sl_load_stats_answered(&s, 0, 0, i < 5 ? 503 : 200,
                                   (uint64_t)(i + 1) * 100, 10);
    }
    const struct {
        const char *text;
        bool holds;
    } cases[] = {
        {"p50<60ms", true},   {"p50<40ms", false},    {"p99<=100ms", true},
        {"max<100ms", false}, {"max<=0.1s", true},    {"mean>10000us", true},
        {"errors<1%", true},  {"errors<0.5%", false}, {"errors<=5", true},
        {"errors<5", false},  {"late<1%", false},     {"late<=1%", true},
        {"rate>=998", true},  {"rate>998", false},    {"p99.9<101ms", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (sl_load_threshold_parse(cases[i].text, &t, &err) < 0)
            fail_msg("%s refused: %s", cases[i].text, err.msg);
        double actual = sl_load_threshold_actual(&t, &s, 1.0);
        if (sl_load_threshold_holds(&t, actual) != cases[i].holds)
            fail_msg("%s: %g should %s", cases[i].text, actual,
                     cases[i].holds ? "hold" : "break it");
    }
    const char *bad[][2] = {
        {"p99", "no < <= > or >="},      {"p99=5ms", "no < <= > or >="},
        {"p100<5ms", "a percentile is"}, {"speed<5", "unknown figure"},
        {"p99<5min", "a latency is"},    {"errors<x", "must be a number"},
        {"errors<5x", "a percentage"},   {"rate>5%", "a percentage"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sl_load_threshold_parse(bad[i][0], &t, &err),
                         SL_EINVAL);
        if (!strstr(err.msg, bad[i][1]) || !strstr(err.msg, bad[i][0]))
            fail_msg("%s said '%s'", bad[i][0], err.msg);
    }
    sl_load_stats_fini(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_stats_of_two_shares_merge_exactly),
        cmocka_unit_test(
            test_load_stats_refuse_malformed_values_and_change_nothing),
        cmocka_unit_test(test_load_thresholds_parse_and_judge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
