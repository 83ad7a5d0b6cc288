/* tests/unit/test_http_request.c: the --http-allow rules and error kinds
 * (worker/http_request.c): what a rule is, what it lets through, and what
 * it keeps out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http_request.h"

#include <string.h>

static bool
allowed(const char *rule, const char *origin)
{
    char *rules[] = {(char *)rule};
    sl_http_rules_t r = {rules, 1};
    return sl_http_allowed(&r, origin);
}

static void
test_http_rules_allow_only_what_they_name(void **state)
{
    (void)state;
    assert_true(allowed("127.0.0.1:8080", "http://127.0.0.1:8080"));
    assert_false(allowed("127.0.0.1:8080", "http://127.0.0.1:8081"));
    assert_false(allowed("127.0.0.1:8080", "http://127.0.0.2:8080"));
    assert_true(allowed("api.example.com", "https://api.example.com"));
    assert_true(allowed("api.example.com", "http://API.example.com:9000"));
    assert_true(allowed("api.example.com:443", "https://api.example.com"));
    assert_false(allowed("api.example.com:443", "http://api.example.com"));
    assert_true(allowed("*.example.com", "https://a.b.example.com"));
    assert_false(allowed("*.example.com", "https://example.com"));
    assert_false(allowed("*.example.com", "https://badexample.com"));
    assert_true(allowed("*.example.com:80", "http://a.example.com"));
    assert_false(allowed("*.example.com:80", "http://a.example.com:81"));
    assert_true(allowed("[::1]:8080", "http://[::1]:8080"));
    assert_false(allowed("[::1]:8080", "http://[::1]:8081"));
    assert_true(allowed("*", "https://anywhere.org:1234"));
    assert_false(allowed("*", "ftp://anywhere.org"));
    assert_false(allowed("a.com", "http://a.com:99999"));
    char *none[] = {NULL};
    sl_http_rules_t empty = {none, 0};
    assert_false(sl_http_allowed(&empty, "http://127.0.0.1:80"));
}

static void
test_http_rules_refuse_malformed_rules(void **state)
{
    (void)state;
    sl_error_t err = {0};
    const char *good[] = {"a.com",    "a.com:1",        "*.a.com",     "*",
                          "[::1]:80", "10.0.0.1:65535", "*.a.com:8080"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (sl_http_rule_check(good[i], &err) < 0)
            fail_msg("%s refused: %s", good[i], err.msg);
    const char *bad[] = {"",    "a.com:0", "a.com:70000",  "a*.com",
                         "*.",  "a.com/x", "http://a.com", "a.*.com",
                         "a b", ":80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sl_http_rule_check(bad[i], &err), SL_EINVAL);
        assert_non_null(strstr(err.msg, "--http-allow '"));
        assert_non_null(strstr(err.msg, "HOST:PORT"));
    }
}

static void
test_http_origin_and_error_kinds(void **state)
{
    (void)state;
    char o[64];
    assert_true(sl_http_origin("http://a:1/x?y#z", o, sizeof o));
    assert_string_equal(o, "http://a:1");
    assert_true(sl_http_origin("https://a.b?q", o, sizeof o));
    assert_string_equal(o, "https://a.b");
    assert_false(sl_http_origin("http:///x", o, sizeof o));
    assert_false(sl_http_origin("http://u@evil.com/", o, sizeof o));
    assert_false(sl_http_origin("file:///etc/passwd", o, sizeof o));
    /* the rule --local gives its worker for a scenario's origin */
    assert_true(sl_http_origin_rule("http://a.b", o, sizeof o));
    assert_string_equal(o, "a.b:80");
    assert_true(sl_http_origin_rule("https://a.b", o, sizeof o));
    assert_string_equal(o, "a.b:443");
    assert_true(sl_http_origin_rule("http://127.0.0.1:8080", o, sizeof o));
    assert_string_equal(o, "127.0.0.1:8080");
    assert_true(sl_http_origin_rule("http://[::1]:81", o, sizeof o));
    assert_string_equal(o, "[::1]:81");
    assert_true(allowed(o, "http://[::1]:81"));
    assert_false(sl_http_origin_rule("http://a:99999", o, sizeof o));
    assert_int_equal(sl_http_error_kind(CURLE_COULDNT_CONNECT),
                     SL_LOAD_ERR_REFUSED);
    assert_int_equal(sl_http_error_kind(CURLE_OPERATION_TIMEDOUT),
                     SL_LOAD_ERR_TIMEOUT);
    assert_int_equal(sl_http_error_kind(CURLE_COULDNT_RESOLVE_HOST),
                     SL_LOAD_ERR_DNS);
    assert_int_equal(sl_http_error_kind(CURLE_PEER_FAILED_VERIFICATION),
                     SL_LOAD_ERR_TLS);
    assert_int_equal(sl_http_error_kind(CURLE_GOT_NOTHING),
                     SL_LOAD_ERR_CONNECTION);
    assert_int_equal(sl_http_error_kind(CURLE_TOO_MANY_REDIRECTS),
                     SL_LOAD_ERR_OTHER);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_rules_allow_only_what_they_name),
        cmocka_unit_test(test_http_rules_refuse_malformed_rules),
        cmocka_unit_test(test_http_origin_and_error_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
