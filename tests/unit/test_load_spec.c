/* tests/unit/test_load_spec.c: a load test's scenario (common/load_spec.c):
 * what it reads, how templates fill and requests are picked, and every
 * refusal, each naming the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "flow.h"
#include "load_spec.h"

#include <string.h>

/* YAML text as a value (the flow files' dialect). */
static sl_value_t *
yaml(const char *text)
{
    sl_value_t *v = NULL;
    sl_error_t err = {0};
    if (sl_flow_parse_value(text, &v, &err) < 0)
        fail_msg("bad YAML in the test: %s", err.msg);
    return v;
}

static void
read_ok(sl_load_spec_t *s, const char *text)
{
    sl_value_t *v = yaml(text);
    sl_error_t err = {0};
    if (sl_load_spec_read(s, v, "t.yaml", &err) < 0)
        fail_msg("refused: %s", err.msg);
    sl_value_destroy(&v);
}

/* text is refused with a message holding want. */
static void
refused(const char *text, const char *want)
{
    sl_load_spec_t s;
    sl_value_t *v = yaml(text);
    sl_error_t err = {0};
    assert_int_equal(sl_load_spec_read(&s, v, "t.yaml", &err), SL_EINVAL);
    if (!strstr(err.msg, want))
        fail_msg("'%s' said '%s', not '%s'", text, err.msg, want);
    assert_non_null(strstr(err.msg, "t.yaml: "));
    assert_null(s.requests); /* nothing half-read is left */
    sl_value_destroy(&v);
}

static char *
fill(const sl_load_spec_t *s, const sl_load_tpl_t *t, uint64_t k)
{
    sl_buf_t b = {0};
    assert_int_equal(sl_load_fill(s, t, k, 3, &b), 0);
    return sl_buf_steal(&b);
}

static void
test_load_spec_reads_a_url_and_a_constant_rate(void **state)
{
    (void)state;
    sl_load_spec_t s;
    read_ok(&s, "{url: 'http://127.0.0.1:8080/a?b=1', rate: 100, duration: "
                "2s}");
    assert_int_equal(s.request_count, 1);
    assert_string_equal(s.requests[0].method, "GET");
    assert_string_equal(s.requests[0].origin, "http://127.0.0.1:8080");
    assert_string_equal(s.requests[0].name, "GET http://127.0.0.1:8080/a?b=1");
    assert_true(s.requests[0].is_literal);
    assert_int_equal(s.schedule.total, 200);
    assert_int_equal(s.connections, SL_LOAD_DEFAULT_CONNECTIONS);
    assert_int_equal(s.timeout_ms, SL_LOAD_DEFAULT_TIMEOUT_MS);
    assert_false(s.is_insecure);
    sl_load_spec_fini(&s);
}

static void
test_load_spec_fills_templates_the_same_for_the_same_request(void **state)
{
    (void)state;
    sl_load_spec_t s;
    read_ok(&s, "vars: {user: {range: [10, 12]}, fruit: [apple, pear]}\n"
                "requests:\n"
                "  - url: 'http://h:1/u/{{user}}?n={{seq}}&w={{ worker }}'\n"
                "    method: POST\n"
                "    headers: {X-Fruit: '{{fruit}}'}\n"
                "    body: '{\"f\": \"{{fruit}}\"}'\n"
                "rate: 10\nduration: 1s\n");
    const sl_load_request_t *q = &s.requests[0];
    assert_false(q->is_literal);
    assert_string_equal(q->method, "POST");
    bool seen_user[3] = {false}, seen_fruit[2] = {false};
    for (uint64_t k = 0; k < 200; k++) {
        char *url = fill(&s, &q->url, k), *again = fill(&s, &q->url, k);
        char *head = fill(&s, &q->headers[0], k), *body = fill(&s, &q->body, k);
        assert_string_equal(url, again); /* the same k, the same request */
        int user = 0;
        unsigned long long n = 0;
        unsigned w = 0;
        assert_int_equal(sscanf(url, "http://h:1/u/%d?n=%llu&w=%u", &user, &n,
                                &w),
                         3);
        assert_true(user >= 10 && user <= 12);
        seen_user[user - 10] = true;
        assert_int_equal(n, k);
        assert_int_equal(w, 3);
        bool apple = !strcmp(head, "X-Fruit: apple");
        assert_true(apple || !strcmp(head, "X-Fruit: pear"));
        seen_fruit[!apple] = true;
        assert_string_equal(body,
                            apple ? "{\"f\": \"apple\"}" : "{\"f\": \"pear\"}");
        free(url);
        free(again);
        free(head);
        free(body);
    }
    assert_true(seen_user[0] && seen_user[1] && seen_user[2]);
    assert_true(seen_fruit[0] && seen_fruit[1]);
    sl_load_spec_fini(&s);
}

static void
test_load_spec_picks_requests_by_weight(void **state)
{
    (void)state;
    sl_load_spec_t s;
    read_ok(&s, "requests:\n"
                "  - {name: home, url: 'http://a/', weight: 3}\n"
                "  - {name: cart, url: 'https://b:8443/c', weight: 1}\n"
                "stages: [{duration: 1s, target: 10}]\n");
    size_t home = 0, n = 40000;
    for (uint64_t k = 0; k < n; k++) {
        const sl_load_request_t *q = sl_load_pick(&s, k);
        assert_ptr_equal(q, sl_load_pick(&s, k));
        home += q == &s.requests[0];
    }
    /* 3 in 4, within 1 % of the requests */
    assert_true(home > n * 3 / 4 - n / 100 && home < n * 3 / 4 + n / 100);
    const char *origins[4];
    assert_int_equal(sl_load_origins(&s, origins, 4), 2);
    assert_string_equal(origins[0], "http://a");
    assert_string_equal(origins[1], "https://b:8443");
    assert_int_equal(s.schedule.total, 5); /* a ramp from 0 to 10/s in 1 s */
    sl_load_spec_fini(&s);
}

static void
test_load_spec_refuses_bad_scenarios_naming_the_field(void **state)
{
    (void)state;
    refused("[1, 2]", "a scenario is a map");
    refused("{rate: 1, duration: 1s}", "requests: missing");
    refused("{url: 'http://a/', requests: [], rate: 1, duration: 1s}", "url: "
                                                                       "give a "
                                                                       "url or "
                                                                       "request"
                                                                       "s");
    refused("{url: 'ftp://a/', rate: 1, duration: 1s}", "must start with "
                                                        "http:// or https://");
    refused("{url: 'http:///x', rate: 1, duration: 1s}", "names no host");
    refused("{url: 'http://{{seq}}/', rate: 1, duration: 1s}", "the host and "
                                                               "port are "
                                                               "written out");
    refused("{url: 'http://u@a/', rate: 1, duration: 1s}", "no user@");
    refused("{url: 'http://a/ b', rate: 1, duration: 1s}", "a space");
    refused("{url: 'http://a/{{nope}}', rate: 1, duration: 1s}", "{{nope}} "
                                                                 "names no "
                                                                 "variable");
    refused("{url: 'http://a/{{seq', rate: 1, duration: 1s}", "is never "
                                                              "closed");
    refused("{url: 7, rate: 1, duration: 1s}", "top.url: must be a string");
    refused("{requests: [{url: 'http://a/', weight: 0}], rate: 1, duration: "
            "1s}",
            "requests[0].weight: must be an integer from 1");
    refused("{requests: [{url: 'http://a/', method: 'GE T'}], rate: 1, "
            "duration: 1s}",
            "requests[0].method");
    refused("{requests: [{url: 'http://a/', verb: GET}], rate: 1, duration: "
            "1s}",
            "unknown field 'verb'");
    refused("{requests: [{url: 'http://a/', headers: {'Bad Name': x}}], rate: "
            "1, duration: 1s}",
            "headers.Bad Name: a header's name is a token");
    refused("{requests: [{url: 'http://a/', headers: {X: \"a\\nb\"}}], rate: "
            "1, duration: 1s}",
            "headers.X: has a line break");
    refused("{requests: [{url: 'http://a/', body: 5}], rate: 1, duration: 1s}",
            "requests[0].body: must be a string");
    refused("{url: 'http://a/', vars: {seq: [1]}, rate: 1, duration: 1s}",
            "vars.seq: a variable's name");
    refused("{url: 'http://a/', vars: {x: []}, rate: 1, duration: 1s}",
            "vars.x: must be a list of one value or more");
    refused("{url: 'http://a/', vars: {x: {range: [5, 1]}}, rate: 1, "
            "duration: 1s}",
            "vars.x: must be an integer from 5");
    refused("{url: 'http://a/', vars: {x: [[1]]}, rate: 1, duration: 1s}",
            "vars.x: item 0 must be a string or a number");
    refused("{url: 'http://a/', rate: 1}", "duration: missing");
    refused("{url: 'http://a/', duration: 1s}", "rate: missing");
    refused("{url: 'http://a/', rate: -1, duration: 1s}", "rate: must be a "
                                                          "number >= 0");
    refused("{url: 'http://a/', rate: 1, duration: soon}", "duration: must be "
                                                           "a duration above "
                                                           "zero");
    refused("{url: 'http://a/', rate: 1, duration: 1s, stages: [{duration: "
            "1s, target: 1}]}",
            "duration: give stages or a duration");
    refused("{url: 'http://a/', stages: [{duration: 1s}]}", "stages[0]: must "
                                                            "be {duration: D, "
                                                            "target: RATE}");
    refused("{url: 'http://a/', stages: [{duration: 1s, target: x}]}",
            "stages[0].target: must be a number");
    refused("{url: 'http://a/', rate: 0, duration: 1s}", "the schedule sends "
                                                         "no request");
    refused("{url: 'http://a/', rate: 1, duration: 25h}", "duration: the test "
                                                          "would last 90000 s, "
                                                          "over the cap of "
                                                          "86400 s");
    refused("{url: 'http://a/', rate: 1, duration: 1s, connections: 0}",
            "connections: must be an integer from 1");
    refused("{url: 'http://a/', rate: 1, duration: 1s, timeout: 0s}", "timeout:"
                                                                      " must "
                                                                      "be a "
                                                                      "duration"
                                                                      " above "
                                                                      "zero");
    refused("{url: 'http://a/', rate: 1, duration: 1s, insecure: yes}",
            "insecure: must be true or false");
    refused("{url: 'http://a/', rate: 1, duration: 1s, speed: 3}", "speed: "
                                                                   "unknown "
                                                                   "field");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_spec_reads_a_url_and_a_constant_rate),
        cmocka_unit_test(
            test_load_spec_fills_templates_the_same_for_the_same_request),
        cmocka_unit_test(test_load_spec_picks_requests_by_weight),
        cmocka_unit_test(test_load_spec_refuses_bad_scenarios_naming_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
