/* tests/unit/test_program.c: program tasks as flows declare them
 * (common/flow_program.c, and inputs in common/flow_yaml.c) and the --exec
 * rules that route and allow them (common/program.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "flow.h"
#include "flow_expect.h"
#include "flow_wire.h"
#include "program.h"

#include <stdlib.h>
#include <string.h>

#define HEAD "flow: f\ntasks:\n"

static sl_flow_t *
parse(const char *text, sl_error_t *err)
{
    return sl_flow_parse(text, strlen(text), "flow.yaml", err);
}

static char *
json_of(const sl_value_t *v)
{
    char *json = sl_value_to_json(v);
    assert_non_null(json);
    return json;
}

static void
count_dep(size_t dep, void *ctx)
{
    (void)dep;
    (*(size_t *)ctx)++;
}

static void
test_cmd_becomes_a_call_of_exec_with_text_arguments(void **state)
{
    (void)state;
    sl_error_t err = {0};
    sl_flow_t *f = parse(HEAD "  count:\n    cmd: [wc, -w, 5, yes, $f]\n"
                              "    map: {f: [a.txt]}\n    stdout: text\n"
                              "    env: {LC_ALL: C, N: 3}\n",
                         &err);
    if (!f)
        fail_msg("%s", err.msg);
    const sl_node_t *n = sl_flow_find(f, "count");
    assert_string_equal(n->task, SL_PROGRAM_TASK);
    assert_int_equal(n->version, SL_PROGRAM_VERSION);
    char *json = json_of(n->args);
    assert_string_equal(json, "[[\"wc\",\"-w\",\"5\",\"yes\",\"$f\"],[],"
                              "{\"LC_ALL\":\"C\",\"N\":\"3\"},\"text\"]");
    free(json);
    sl_program_call_t call;
    assert_int_equal(sl_program_call_parse(n->args, &call, &err), 0);
    assert_int_equal(call.output, SL_OUTPUT_TEXT);
    assert_string_equal(sl_program_name(n->args), "wc");
    sl_flow_destroy(&f);
}

static void
test_sh_passes_args_as_positional_parameters_never_in_the_line(void **state)
{
    (void)state;
    sl_error_t err = {0};
    sl_flow_t *f = parse(HEAD "  a: {run: echo, args: [x]}\n"
                              "  b:\n    sh: 'echo \"$1\" $HOME'\n"
                              "    args: [$a, 2]\n",
                         &err);
    if (!f)
        fail_msg("%s", err.msg);
    char *json = json_of(sl_flow_find(f, "b")->args);
    assert_string_equal(json, "[[\"/bin/sh\",\"-c\",\"echo \\\"$1\\\" "
                              "$HOME\",\"sh\",\"$a\",2],[\"$a\",2],{},"
                              "\"json\"]");
    free(json);
    /* $a in args is a dependency (twice: argv and input): b runs after a */
    size_t deps = 0;
    sl_flow_deps(f, 1, count_dep, &deps);
    assert_int_equal(deps, 2);
    sl_flow_destroy(&f);
}

static void
test_inputs_are_kept_and_their_references_are_dependencies(void **state)
{
    (void)state;
    sl_error_t err = {0};
    sl_flow_t *f = parse(HEAD "  list: {run: echo, args: [[a]]}\n"
                              "  wc:\n    run: echo\n    args: [1]\n"
                              "    inputs: [data/, '*.txt', $list]\n",
                         &err);
    if (!f)
        fail_msg("%s", err.msg);
    const sl_node_t *n = sl_flow_find(f, "wc");
    char *json = json_of(n->inputs);
    assert_string_equal(json, "[\"data/\",\"*.txt\",\"$list\"]");
    free(json);
    size_t deps = 0;
    sl_flow_deps(f, 1, count_dep, &deps);
    assert_int_equal(deps, 1);
    /* and they survive the wire */
    Sluice__Flow *msg = NULL;
    assert_int_equal(sl_flow_wire_view(f, &msg, &err), 0);
    sl_flow_t *back = sl_flow_wire_unpack(msg, &err);
    assert_non_null(back);
    json = json_of(sl_flow_find(back, "wc")->inputs);
    assert_string_equal(json, "[\"data/\",\"*.txt\",\"$list\"]");
    free(json);
    sl_flow_wire_free(&msg);
    sl_flow_destroy(&back);
    sl_flow_destroy(&f);
}

static void
test_bad_program_nodes_are_errors_naming_where(void **state)
{
    (void)state;
    sl_test_flow_expect(HEAD "  a:\n    run: echo\n    cmd: [ls]\n",
                        "flow.yaml:4:5",
                        "task 'a' has more than one of 'run', 'cmd' and 'sh'");
    sl_test_flow_expect(HEAD "  a:\n    cmd: ls\n", "flow.yaml:4:10",
                        "task 'a': cmd must be a list");
    sl_test_flow_expect(HEAD "  a:\n    cmd: []\n", "flow.yaml:4:10",
                        "cmd is empty");
    sl_test_flow_expect(HEAD "  a:\n    cmd: [bin/tool]\n", "flow.yaml:4:11",
                        "program 'bin/tool' is a relative path");
    sl_test_flow_expect(HEAD "  a:\n    cmd: [/usr/../bin/sh]\n",
                        "flow.yaml:4:11", "has a '.' or '..' part");
    sl_test_flow_expect(HEAD "  a:\n    cmd: [ls, [x]]\n", "flow.yaml:4:15",
                        "each element of cmd must be text");
    sl_test_flow_expect(HEAD "  a:\n    sh: ''\n", "flow.yaml:4:9",
                        "sh must be a shell line");
    sl_test_flow_expect(HEAD "  a:\n    cmd: [ls]\n    stdout: yaml\n",
                        "flow.yaml:5:13", "stdout must be json, text or bytes");
    sl_test_flow_expect(HEAD "  a:\n    cmd: [ls]\n    env: {1X: y}\n",
                        "flow.yaml:5:11",
                        "env name '1X' is not a variable name");
    sl_test_flow_expect(HEAD "  a:\n    run: echo\n    env: {X: y}\n",
                        "flow.yaml:5:10",
                        "stdout, env and outputs are for programs");
    sl_test_flow_expect(HEAD "  a:\n    cmd: [ls]\n    outputs: [../x]\n",
                        "flow.yaml:5:15",
                        "output '../x' is not a relative path inside");
    sl_test_flow_expect(HEAD "  a:\n    cmd: [ls]\n    outputs: [/tmp/x]\n",
                        "flow.yaml:5:15",
                        "output '/tmp/x' is not a relative path inside");
    sl_test_flow_expect(HEAD "  a:\n    cmd: [ls]\n    outputs: x\n",
                        "flow.yaml:5:14", "outputs must be a list of paths");
    sl_test_flow_expect(HEAD "  a:\n    run: echo\n    inputs: a.txt\n",
                        "flow.yaml:5:13", "inputs must be a list of paths");
    sl_test_flow_expect(HEAD "  a:\n    run: echo\n    inputs: [1]\n",
                        "flow.yaml:5:13", "input 1 is not a path");
    sl_test_flow_expect(HEAD "  a:\n    run: echo\n    inputs: [$nope]\n",
                        "flow.yaml:5:13",
                        "refers to '$nope', which is not a node");
}

static void
test_outputs_are_a_fifth_part_of_the_call(void **state)
{
    (void)state;
    sl_error_t err = {0};
    sl_flow_t *f =
        parse(HEAD "  r:\n    cmd: [make]\n    outputs: [out/r.txt]\n", &err);
    if (!f)
        fail_msg("%s", err.msg);
    const sl_node_t *n = sl_flow_find(f, "r");
    sl_program_call_t call;
    assert_int_equal(sl_program_call_parse(n->args, &call, &err), 0);
    assert_non_null(call.outputs);
    assert_string_equal(sl_value_get_string(sl_value_at(call.outputs, 0), NULL),
                        "out/r.txt");
    sl_flow_destroy(&f);
    assert_true(sl_program_is_inside("a/b.txt"));
    assert_false(sl_program_is_inside("a/../b"));
    assert_false(sl_program_is_inside("./a"));
    assert_false(sl_program_is_inside("a//b"));
    assert_false(sl_program_is_inside(""));
}

static void
test_rules_allow_by_name_by_path_glob_or_everything(void **state)
{
    (void)state;
    assert_true(sl_program_rule_allows("wc", "wc", "/usr/bin/wc"));
    assert_false(sl_program_rule_allows("wc", "/usr/bin/wc", "/usr/bin/wc"));
    assert_true(sl_program_rule_allows("/usr/bin/*", "wc", "/usr/bin/wc"));
    assert_true(
        sl_program_rule_allows("/usr/bin/*", "/usr/bin/wc", "/usr/bin/wc"));
    assert_false(
        sl_program_rule_allows("/usr/bin/*", "/usr/bin/x/y", "/usr/bin/x/y"));
    assert_false(sl_program_rule_allows("/usr/bin/*", "wc", NULL));
    assert_false(
        sl_program_rule_allows("python3", "python", "/usr/bin/python"));
    assert_true(sl_program_rule_allows("python3*", "python3.11", NULL));
    assert_true(sl_program_rule_allows("*", "/opt/x/y", "/opt/x/y"));
}

static void
test_the_broker_routes_bare_names_through_the_workers_path(void **state)
{
    (void)state;
    char *rules[] = {"/usr/bin/*", "python3"};
    assert_string_equal(sl_program_rules_match(rules, 2, "/bin:/usr/bin", "wc"),
                        "/usr/bin/*");
    assert_string_equal(sl_program_rules_match(rules, 2, "/bin", "python3"),
                        "python3");
    assert_null(sl_program_rules_match(rules, 2, "/bin:/opt", "wc"));
    assert_null(sl_program_rules_match(rules, 2, "/usr/bin", "/bin/sh"));
    assert_null(sl_program_rules_match(rules, 2, "/usr/bin", "../x"));
    assert_null(sl_program_rules_match(rules, 0, "/usr/bin", "wc"));
}

static void
test_a_call_of_the_wrong_shape_is_refused(void **state)
{
    (void)state;
    sl_error_t err = {0};
    sl_program_call_t call;
    sl_value_t *v = NULL;
    assert_int_equal(sl_flow_parse_value("[[wc], [], {}]", &v, &err), 0);
    assert_int_equal(sl_program_call_parse(v, &call, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "[argv, input, env, stdout]"));
    sl_value_destroy(&v);
    assert_int_equal(sl_flow_parse_value("[[], [], {}, json]", &v, &err), 0);
    assert_int_equal(sl_program_call_parse(v, &call, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "starts with the program"));
    assert_null(sl_program_name(v));
    sl_value_destroy(&v);
    assert_int_equal(sl_flow_parse_value("[[wc], [], {}, csv]", &v, &err), 0);
    assert_int_equal(sl_program_call_parse(v, &call, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "stdout must be"));
    sl_value_destroy(&v);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmd_becomes_a_call_of_exec_with_text_arguments),
        cmocka_unit_test(
            test_sh_passes_args_as_positional_parameters_never_in_the_line),
        cmocka_unit_test(
            test_inputs_are_kept_and_their_references_are_dependencies),
        cmocka_unit_test(test_bad_program_nodes_are_errors_naming_where),
        cmocka_unit_test(test_outputs_are_a_fifth_part_of_the_call),
        cmocka_unit_test(test_rules_allow_by_name_by_path_glob_or_everything),
        cmocka_unit_test(
            test_the_broker_routes_bare_names_through_the_workers_path),
        cmocka_unit_test(test_a_call_of_the_wrong_shape_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
