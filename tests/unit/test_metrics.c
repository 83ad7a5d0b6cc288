/* tests/unit/test_metrics.c: Prometheus metrics and their text format
 * (common/metrics.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
render(const sl_metrics_t *m)
{
    sl_buf_t out = {0};
    assert_int_equal(sl_metrics_render(m, &out), 0);
    return sl_buf_steal(&out);
}

static void
test_metrics_counter_and_gauge_lines(void **state)
{
    (void)state;
    sl_metrics_t *m = sl_metrics_new();
    sl_metric_t *done =
        sl_metrics_add(m, SL_METRIC_COUNTER, "sluice_tasks_completed_total",
                       "Tasks that succeeded.", "task");
    sl_metric_t *queued =
        sl_metrics_add(m, SL_METRIC_GAUGE, "sluice_tasks_queued",
                       "Tasks waiting.", NULL);
    assert_non_null(done);
    assert_non_null(queued);
    sl_series_add(sl_metric_at(done, "add"), 2);
    sl_series_add(sl_metric_at(done, "add"), 1);
    sl_series_add(sl_metric_at(done, "add"), -5); /* a counter never drops */
    sl_series_add(sl_metric_at(done, "mul"), 1);
    sl_series_set(sl_metric_at(queued), 7.5);
    assert_true(sl_series_value(sl_metric_at(done, "add")) == 3);
    char *text = render(m);
    assert_string_equal(text, "# HELP sluice_tasks_completed_total Tasks that "
                              "succeeded.\n# TYPE sluice_tasks_completed_total "
                              "counter\nsluice_tasks_completed_total{task="
                              "\"add\"} "
                              "3\nsluice_tasks_completed_total{task=\"mul\"} "
                              "1\n# HELP sluice_tasks_queued Tasks waiting.\n# "
                              "TYPE sluice_tasks_queued "
                              "gauge\nsluice_tasks_queued 7.5\n");
    free(text);
    sl_metrics_destroy(&m);
    assert_null(m);
    sl_metrics_destroy(&m);
}

/* Label values are escaped as the format says; help text too. */
static void
test_metrics_escapes_label_values(void **state)
{
    (void)state;
    sl_metrics_t *m = sl_metrics_new();
    sl_metric_t *f = sl_metrics_add(m, SL_METRIC_COUNTER, "x_total",
                                    "a \\ b\nc", "task,outcome");
    sl_series_add(sl_metric_at(f, "a\"b\\c\nd", "ok"), 1);
    char *text = render(m);
    assert_non_null(strstr(text, "# HELP x_total a \\\\ b\\nc\n"));
    assert_non_null(strstr(text, "x_total{task=\"a\\\"b\\\\c\\nd\",outcome="
                                 "\"ok\"} 1\n"));
    free(text);
    sl_metrics_destroy(&m);
}

/* A label value longer than the stack key is found again all the same. */
static void
test_metrics_long_label_values(void **state)
{
    (void)state;
    char name[600];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    sl_metrics_t *m = sl_metrics_new();
    sl_metric_t *f =
        sl_metrics_add(m, SL_METRIC_COUNTER, "l_total", "l", "task");
    sl_series_add(sl_metric_at(f, name), 1);
    sl_series_add(sl_metric_at(f, name), 1);
    assert_true(sl_series_value(sl_metric_at(f, name)) == 2);
    char *text = render(m);
    assert_int_equal(strlen(text), strlen("# HELP l_total l\n# TYPE l_total "
                                          "counter\nl_total{task=\"\"} 2\n") +
                                       sizeof name - 1);
    free(text);
    sl_metrics_destroy(&m);
}

/* Buckets are cumulative, +Inf equals the count, and the sum adds up. */
static void
test_metrics_histogram_buckets_are_cumulative(void **state)
{
    (void)state;
    sl_metrics_t *m = sl_metrics_new();
    sl_metric_t *f =
        sl_metrics_add(m, SL_METRIC_HISTOGRAM, "sluice_task_duration_seconds",
                       "Compute time.", NULL);
    sl_series_t *s = sl_metric_at(f);
    sl_series_observe(s, 0.00005); /* first bucket */
    sl_series_observe(s, 0.001);   /* exactly on a bound: in it */
    sl_series_observe(s, 0.7);
    sl_series_observe(s, 1000); /* past every bound: +Inf only */
    sl_series_observe(s, -1);   /* ignored */
    char *text = render(m);
    assert_non_null(strstr(text, "# TYPE sluice_task_duration_seconds "
                                 "histogram\n"));
    assert_non_null(strstr(text, "sluice_task_duration_seconds_bucket{le=\"0."
                                 "0001\"} 1\n"));
    assert_non_null(strstr(text, "sluice_task_duration_seconds_bucket{le=\"0."
                                 "0005\"} 1\n"));
    assert_non_null(strstr(text, "sluice_task_duration_seconds_bucket{le=\"0."
                                 "001\"} 2\n"));
    assert_non_null(strstr(text, "sluice_task_duration_seconds_bucket{le=\"0."
                                 "5\"} 2\n"));
    assert_non_null(strstr(text, "sluice_task_duration_seconds_bucket{le=\"1\"}"
                                 " 3\n"));
    assert_non_null(strstr(text, "sluice_task_duration_seconds_bucket{le="
                                 "\"300\"} 3\n"));
    assert_non_null(strstr(text, "sluice_task_duration_seconds_bucket{le=\"+"
                                 "Inf\"} 4\n"));
    assert_non_null(strstr(text, "sluice_task_duration_seconds_count 4\n"));
    assert_non_null(strstr(text, "sluice_task_duration_seconds_sum "
                                 "1000.70105\n"));
    free(text);
    sl_metrics_destroy(&m);
}

/* Past the cap, new label values share one "other" series. */
static void
test_metrics_caps_series_with_other(void **state)
{
    (void)state;
    sl_metrics_t *m = sl_metrics_new();
    sl_metric_t *f =
        sl_metrics_add(m, SL_METRIC_COUNTER, "t_total", "t", "task");
    char name[32];
    for (int i = 0; i < SL_METRICS_SERIES_MAX + 50; i++) {
        snprintf(name, sizeof name, "task%d", i);
        sl_series_add(sl_metric_at(f, name), 1);
    }
    sl_series_add(sl_metric_at(f, "task0"), 1); /* known: still its own */
    char *text = render(m);
    assert_non_null(strstr(text, "t_total{task=\"task0\"} 2\n"));
    snprintf(name, sizeof name, "{task=\"task%d\"}", SL_METRICS_SERIES_MAX);
    assert_null(strstr(text, name));
    assert_non_null(strstr(text, "t_total{task=\"other\"} 50\n"));
    free(text);
    sl_metrics_destroy(&m);
}

/* A bad name or label, or too many labels, is refused; NULL families and
 * series are no-ops. */
static void
test_metrics_refuses_bad_names(void **state)
{
    (void)state;
    sl_metrics_t *m = sl_metrics_new();
    assert_null(sl_metrics_add(m, SL_METRIC_GAUGE, "1abc", "", NULL));
    assert_null(sl_metrics_add(m, SL_METRIC_GAUGE, "a-b", "", NULL));
    assert_null(sl_metrics_add(m, SL_METRIC_GAUGE, "ok", "", "le"));
    assert_null(sl_metrics_add(m, SL_METRIC_GAUGE, "ok", "", "a:b"));
    assert_null(sl_metrics_add(m, SL_METRIC_GAUGE, "ok", "", "a,b,c,d"));
    assert_null(sl_metric_at(NULL, "x"));
    sl_series_add(NULL, 1);
    sl_series_observe(NULL, 1);
    assert_true(sl_series_value(NULL) == 0);
    char *text = render(m);
    assert_string_equal(text, ""); /* nothing half-added */
    free(text);
    sl_metrics_destroy(&m);
}

/* The process set: every family has HELP and TYPE, values are sane. */
static void
test_metrics_process_set(void **state)
{
    (void)state;
    sl_buf_t out = {0};
    assert_int_equal(sl_metrics_render_process(&out, "broker"), 0);
    const char *names[] = {"process_cpu_seconds_total",
                           "process_resident_memory_bytes",
                           "process_virtual_memory_bytes",
                           "process_start_time_seconds",
                           "process_open_fds",
                           "process_max_fds"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char help[128];
        snprintf(help, sizeof help, "# HELP %s ", names[i]);
        assert_non_null(strstr(out.data, help));
    }
    double rss = 0, start = 0;
    char *p = strstr(out.data, "\nprocess_resident_memory_bytes ");
    assert_non_null(p);
    rss = strtod(p + strlen("\nprocess_resident_memory_bytes "), NULL);
    assert_true(rss > 100000 && rss < 1e10);
    p = strstr(out.data, "\nprocess_start_time_seconds ");
    start = strtod(p + strlen("\nprocess_start_time_seconds "), NULL);
    assert_true(start > 1.7e9); /* after 2023: a unix time, not ticks */
    assert_non_null(strstr(out.data, "sluice_build_info{version=\""));
    assert_non_null(strstr(out.data, "role=\"broker\"} 1\n"));
    sl_buf_fini(&out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_counter_and_gauge_lines),
        cmocka_unit_test(test_metrics_escapes_label_values),
        cmocka_unit_test(test_metrics_long_label_values),
        cmocka_unit_test(test_metrics_histogram_buckets_are_cumulative),
        cmocka_unit_test(test_metrics_caps_series_with_other),
        cmocka_unit_test(test_metrics_refuses_bad_names),
        cmocka_unit_test(test_metrics_process_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
