/* tests/unit/test_flow.c: flow files (common/flow_yaml.c), the validator
 * (common/flow_check.c) and the wire form (common/flow_wire.c). Every error
 * must name the file, line and column, and a bad file gives no flow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "flow.h"
#include "flow_expect.h"
#include "flow_wire.h"

#include <stdlib.h>
#include <string.h>

static const char seed[] = "flow: Add Numbers Flow\ncache:\n  url: "
                           "redis://localhost:6379/0\n  ttl: 1h\ntasks:\n  "
                           "add:\n    run: add_numbers\n    args: [5, 10]\n    "
                           "cache_key: add_numbers\n  squares:\n    run: "
                           "mul@2\n    map: { x: [1, 2, 3, 4] }\n    args: "
                           "[$x, $x]\n  total:\n    run: sum\n    args: "
                           "[$squares]\n    ttl: forever\n";

static sl_flow_t *
parse(const char *text, sl_error_t *err)
{
    return sl_flow_parse(text, strlen(text), "flow.yaml", err);
}

static void
test_flow_seed_parses(void **state)
{
    (void)state;
    sl_error_t err = {0};
    sl_flow_t *f = parse(seed, &err);
    if (!f)
        fail_msg("%s", err.msg);
    assert_string_equal(sl_flow_name(f), "Add Numbers Flow");
    assert_string_equal(f->cache_url, "redis://localhost:6379/0");
    assert_int_equal(f->ttl_ms, 3600000);
    assert_int_equal(f->node_count, 3);
    const sl_node_t *add = sl_flow_find(f, "add");
    assert_int_equal(add->opt.cache, SL_CACHE_KEY);
    assert_string_equal(add->opt.cache_key, "add_numbers");
    assert_int_equal(add->pos.line, 6);
    assert_int_equal(add->pos.column, 3);
    const sl_node_t *sq = sl_flow_find(f, "squares");
    assert_string_equal(sq->task, "mul");
    assert_int_equal(sq->version, 2);
    assert_int_equal(sq->map_count, 1);
    assert_int_equal(sl_value_count(sq->map_sources[0]), 4);
    assert_int_equal(sl_flow_find(f, "total")->opt.ttl_ms, -1);
    sl_flow_destroy(&f);
    assert_null(f);
}

#define HEAD "flow: f\ntasks:\n"

static void
test_flow_unknown_keys_are_errors(void **state)
{
    (void)state;
    sl_test_flow_expect("flow: f\ntaks:\n  a: {run: echo}\n", "flow.yaml:2:1",
                        "unknown key 'taks'");
    sl_test_flow_expect(HEAD "  a:\n    run: echo\n    arg: [1]\n",
                        "flow.yaml:5:5", "task 'a': unknown key 'arg'");
    sl_test_flow_expect("flow: f\ncache: {ttl: 1h, host: x}\ntasks:\n  a: "
                        "{run: echo}\n",
                        "flow.yaml:2:18", "cache: unknown key 'host'");
}

static void
test_flow_missing_run_is_an_error(void **state)
{
    (void)state;
    sl_test_flow_expect(HEAD "  add:\n    args: [1, 2]\n", "flow.yaml:4:5",
                        "task 'add' has no 'run'");
}

static void
test_flow_reference_to_a_missing_node_is_an_error(void **state)
{
    (void)state;
    sl_test_flow_expect(HEAD "  a: {run: echo, args: [1]}\n  total:\n    run: "
                             "sum\n    "
                             "args: [$squars]\n",
                        "flow.yaml:6:11",
                        "refers to '$squars', which is not a node");
    sl_test_flow_expect(HEAD "  a: {run: echo, args: [$params.n]}\n",
                        "flow.yaml:3:24",
                        "'$params.n', which is not a declared parameter");
    sl_test_flow_expect(HEAD "  a: {run: echo, args: [[{deep: $a}]]}\n",
                        "flow.yaml:3:24", "refers to itself");
}

static void
test_flow_cycles_are_errors(void **state)
{
    (void)state;
    sl_test_flow_expect(HEAD "  a: {run: echo, args: [$c]}\n  b: {run: echo, "
                             "args: [$a]}\n  "
                             "c: {run: echo, args: [$b]}\n  d: {run: echo, "
                             "args: [$c]}\n",
                        "flow.yaml:", "is part of a cycle");
    sl_error_t err = {0};
    assert_null(parse(HEAD "  a: {run: echo, args: [$b]}\n  b: {run: echo, "
                           "args: [$a]}\n  z: {run: echo, args: [$a]}\n",
                      &err));
    /* the node named is on the cycle, not merely behind it */
    assert_null(strstr(err.msg, "'z'"));
}

static void
test_flow_bad_maps_are_errors(void **state)
{
    (void)state;
    sl_test_flow_expect(HEAD "  a:\n    run: mul\n    map: [1, 2]\n",
                        "flow.yaml:5:10", "map must be a mapping");
    sl_test_flow_expect(HEAD "  a:\n    run: mul\n    map: {}\n",
                        "flow.yaml:5:10", "map is empty");
    sl_test_flow_expect(HEAD "  a:\n    run: mul\n    map: {x: 3}\n",
                        "flow.yaml:5:14",
                        "map variable 'x' must be a list or a reference");
    sl_test_flow_expect(HEAD "  a:\n    run: mul\n    map: {x: [1, 2], y: "
                             "[1]}\n",
                        "flow.yaml:5:10", "map lists of different lengths");
    sl_test_flow_expect(HEAD "  a: {run: echo}\n  b:\n    run: mul\n    map: "
                             "{a: [1]}\n",
                        "flow.yaml:6:10", "has the name of a node");
    sl_test_flow_expect(HEAD "  a:\n    run: mul\n    map: {x: $nothing}\n",
                        "flow.yaml:5:10", "'$nothing', which is not a node");
    sl_test_flow_expect(HEAD "  a:\n    run: mul\n    map: {x: [1]}\n    "
                             "cache_key: k\n",
                        "flow.yaml:3:3", "every element the same entry");
}

static void
test_flow_wrong_types_are_errors(void **state)
{
    (void)state;
    sl_test_flow_expect(HEAD "  a: {run: echo, args: 5}\n", "flow.yaml:3:24",
                        "args must be a list");
    sl_test_flow_expect(HEAD "  a: {run: echo, retries: many}\n",
                        "flow.yaml:3:27", "retries must be an integer");
    sl_test_flow_expect(HEAD "  a: {run: echo, ttl: 0}\n", "flow.yaml:3:23",
                        "ttl of 0 is refused");
    sl_test_flow_expect(HEAD "  a: {run: echo, timeout: soon}\n",
                        "flow.yaml:3:27", "timeout must be a duration");
    sl_test_flow_expect(HEAD "  a: {run: echo, refresh: yes}\n",
                        "flow.yaml:3:27", "refresh must be true or false");
    sl_test_flow_expect(HEAD "  a: {run: echo, cache: sometimes}\n",
                        "flow.yaml:3:25", "cache must be inputs, key or none");
    sl_test_flow_expect(HEAD "  a: {run: [echo]}\n", "flow.yaml:3:12",
                        "run must be a string");
    sl_test_flow_expect(HEAD "  a: {run: echo@x}\n", "flow.yaml:3:3",
                        "bad version");
    sl_test_flow_expect(HEAD "  a: {run: echo, args: [99999999999999999999]}\n",
                        "flow.yaml:3:25", "out of the 64-bit range");
    sl_test_flow_expect("flow: f\ncache: {url: http://x}\ntasks:\n  a: {run: "
                        "echo}\n",
                        "flow.yaml:2:8", "must start with redis:// or lmdb://");
    sl_test_flow_expect("- just\n- a list\n", "flow.yaml:1:1",
                        "a flow file must be a mapping");
    sl_test_flow_expect("flow: f\n", "flow.yaml:1:1", "no 'tasks:'");
    sl_test_flow_expect("tasks:\n  a: {run: echo}\n", "flow.yaml:1:1",
                        "no 'flow: NAME'");
}

static void
test_flow_bad_yaml_and_duplicates_are_errors(void **state)
{
    (void)state;
    sl_test_flow_expect(HEAD "  a: {run: echo\n", "flow.yaml:4:1", "");
    sl_test_flow_expect(HEAD "  a: {run: echo}\n  a: {run: echo}\n",
                        "flow.yaml:4:3", "defined twice");
    sl_test_flow_expect(HEAD "  a: {run: echo, args: [{k: 1, k: 2}]}\n",
                        "flow.yaml:3:32", "key 'k' appears twice");
    sl_test_flow_expect(HEAD "  a: {run: echo, run: add}\n", "flow.yaml:3:18",
                        "task 'a': key 'run' appears twice");
    sl_test_flow_expect("flow: f\ntasks:\n  a: {run: echo}\ntasks:\n  b: {run: "
                        "echo}\n",
                        "flow.yaml:4:1", "key 'tasks' appears twice");
    sl_test_flow_expect("flow: f\nparams: {n: 1, n: 2}\ntasks:\n  a: {run: "
                        "echo}\n",
                        "flow.yaml:2:16", "parameter 'n' is declared twice");
}

static void
test_flow_aliases_cannot_blow_up(void **state)
{
    (void)state;
    /* nine levels of ten aliases each: 10^9 values if expanded */
    char text[4096] = "flow: f\nparams:\n  x0: &a0 [1,1,1,1,1,1,1,1,1,1]\n";
    for (int i = 1; i < 10; i++) {
        char line[200];
        snprintf(line, sizeof line,
                 "  x%d: &a%d "
                 "[*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d]\n",
                 i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
                 i - 1, i - 1);
        strcat(text, line);
    }
    strcat(text, "tasks:\n  a: {run: echo}\n");
    sl_test_flow_expect(text, "flow.yaml:", "expands to more than");
}

/* 100,000 levels: refused at the 73rd, from libyaml's event stream (its
 * loader costs the square of the depth: 17 s on fdda4fe), in a flow file
 * and in a --param value alike. */
static void
test_flow_deep_nesting_is_refused_where_it_passes_the_limit(void **state)
{
    (void)state;
    size_t depth = 100000, at = 0;
    char *text = malloc(2 * depth + 64);
    at += (size_t)sprintf(text, "flow: f\ntasks:\n  a: {run: echo, args: ");
    memset(text + at, '[', depth);
    memset(text + at + depth, ']', depth);
    strcpy(text + at + 2 * depth, "}\n");
    sl_test_flow_expect(text, "flow.yaml:3:",
                        "nests deeper than 72 levels (values: 64)");
    sl_value_t *v = NULL;
    sl_error_t err = {0};
    assert_int_equal(sl_flow_parse_value(text + at, &v, &err), SL_EINVAL);
    assert_null(v);
    assert_int_equal(strncmp(err.msg, "value '[[[", 10), 0);
    assert_non_null(strstr(err.msg, "...':1:73: nests deeper than 72"));
    /* a value just inside the cap still parses */
    memset(text, '[', 64);
    memset(text + 64, ']', 64);
    text[128] = '\0';
    assert_int_equal(sl_flow_parse_value(text, &v, &err), 0);
    assert_int_equal(sl_value_depth(v), 64);
    sl_value_destroy(&v);
    memset(text, '[', 65); /* one more: the value cap says so */
    memset(text + 65, ']', 65);
    text[130] = '\0';
    assert_int_equal(sl_flow_parse_value(text, &v, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "value nests deeper than 64"));
    free(text);
}

static void
test_flow_wire_round_trip_validates_again(void **state)
{
    (void)state;
    sl_flow_t *f = parse(seed, NULL);
    Sluice__Flow *msg = NULL;
    assert_int_equal(sl_flow_wire_view(f, &msg, NULL), 0);
    size_t size = sluice__flow__get_packed_size(msg);
    uint8_t *bytes = malloc(size);
    sluice__flow__pack(msg, bytes);
    Sluice__Flow *in = sluice__flow__unpack(NULL, size, bytes);
    sl_error_t err = {0};
    sl_flow_t *back = sl_flow_wire_unpack(in, &err);
    if (!back)
        fail_msg("%s", err.msg);
    assert_int_equal(back->node_count, 3);
    assert_int_equal(sl_flow_find(back, "squares")->version, 2);
    assert_string_equal(sl_flow_find(back, "add")->opt.cache_key, "add_"
                                                                  "numbers");
    assert_true(sl_value_equal(sl_flow_find(back, "squares")->args,
                               sl_flow_find(f, "squares")->args));
    /* a tampered flow on the wire is refused by the same validator */
    in->nodes[2]->args->nodes[1]->s.data[1] = 'Z'; /* $squares -> $Zquares */
    sl_flow_t *bad = sl_flow_wire_unpack(in, &err);
    assert_null(bad);
    assert_non_null(strstr(err.msg, "$Zquares"));
    assert_non_null(strstr(err.msg, "flow.yaml:14:3"));
    sluice__flow__free_unpacked(in, NULL);
    free(bytes);
    sl_flow_wire_free(&msg);
    sl_flow_destroy(&back);
    sl_flow_destroy(&f);
}

static void
test_flow_built_in_code_validates(void **state)
{
    (void)state;
    sl_flow_t *f = sl_flow_new("coded");
    sl_value_t *args = sl_value_new_list(), *ref = sl_value_new_string("$a");
    sl_value_push(args, &ref);
    assert_int_equal(sl_flow_add(f, "b", "echo", &args, NULL), 0);
    assert_int_equal(sl_flow_validate(f, NULL), SL_EINVAL);
    assert_int_equal(sl_flow_add(f, "a", "echo@1", NULL, NULL), 0);
    assert_int_equal(sl_flow_validate(f, NULL), 0);
    assert_int_equal(sl_flow_add(f, "a", "echo", NULL, NULL), SL_EEXIST);
    sl_flow_destroy(&f);
}

static void
test_flow_parse_value_reads_yaml_scalars_and_lists(void **state)
{
    (void)state;
    sl_value_t *v = NULL;
    assert_int_equal(sl_flow_parse_value("[1, 2.5, x, true, null]", &v, NULL),
                     0);
    assert_int_equal(sl_value_count(v), 5);
    assert_int_equal(sl_value_type(sl_value_at(v, 0)), SL_INT);
    assert_int_equal(sl_value_type(sl_value_at(v, 1)), SL_DOUBLE);
    assert_int_equal(sl_value_type(sl_value_at(v, 2)), SL_STRING);
    assert_int_equal(sl_value_type(sl_value_at(v, 3)), SL_BOOL);
    assert_int_equal(sl_value_type(sl_value_at(v, 4)), SL_NULL);
    sl_value_destroy(&v);
    assert_int_equal(sl_flow_parse_value("'10'", &v, NULL), 0);
    assert_int_equal(sl_value_type(v), SL_STRING);
    sl_value_destroy(&v);
    assert_int_equal(sl_flow_parse_value("[1,", &v, NULL), SL_EINVAL);
}

/* The options read YAML 1.2's core schema as values do
 * (tests/conformance/vectors.txt holds the values' cases): TRUE is true
 * and yes is no bool, 0x3 is an int and !!str 3 is not, and a tag outside
 * the schema is refused where it stands. */
static void
test_flow_options_follow_the_core_schema(void **state)
{
    (void)state;
    sl_error_t err = {0};
    const char *text = HEAD "  a: {run: echo, refresh: TRUE, retries: 0x3, "
                            "args: [yes, 017, !!str 10, 1e3]}\n";
    sl_flow_t *f = sl_flow_parse(text, strlen(text), "flow.yaml", &err);
    assert_non_null(f);
    const sl_node_t *a = sl_flow_last(f);
    assert_true(a->opt.refresh);
    assert_int_equal(a->opt.retries, 3);
    const sl_value_t *args = a->args;
    assert_int_equal(sl_value_type(sl_value_at(args, 0)), SL_STRING);
    assert_int_equal(sl_value_get_int(sl_value_at(args, 1)), 17);
    assert_int_equal(sl_value_type(sl_value_at(args, 2)), SL_STRING);
    assert_int_equal(sl_value_type(sl_value_at(args, 3)), SL_DOUBLE);
    sl_flow_destroy(&f);
    sl_test_flow_expect(HEAD "  a: {run: echo, refresh: yes}\n",
                        "flow.yaml:3:27", "refresh must be true or false");
    sl_test_flow_expect(HEAD "  a: {run: echo, retries: !!str 3}\n",
                        "flow.yaml:3:27", "retries must be an integer");
    sl_test_flow_expect(HEAD "  a: {run: echo, args: [!!timestamp "
                             "2024-01-01]}\n",
                        "flow.yaml:3:25", "tag !!timestamp is not read here");
    sl_test_flow_expect(HEAD "  a: {run: echo, args: [!!int x]}\n",
                        "flow.yaml:3:25", "'x' is not an integer");
    sl_test_flow_expect(HEAD "  a: {run: echo, args: [!!set {x: ~}]}\n",
                        "flow.yaml:3:25", "tag !!set is not read here");
    sl_test_flow_expect(HEAD "  a: {run: echo, !foo args: [1]}\n",
                        "flow.yaml:3:18", "tag !foo is not read here");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_seed_parses),
        cmocka_unit_test(test_flow_unknown_keys_are_errors),
        cmocka_unit_test(test_flow_options_follow_the_core_schema),
        cmocka_unit_test(test_flow_missing_run_is_an_error),
        cmocka_unit_test(test_flow_reference_to_a_missing_node_is_an_error),
        cmocka_unit_test(test_flow_cycles_are_errors),
        cmocka_unit_test(test_flow_bad_maps_are_errors),
        cmocka_unit_test(test_flow_wrong_types_are_errors),
        cmocka_unit_test(test_flow_bad_yaml_and_duplicates_are_errors),
        cmocka_unit_test(test_flow_aliases_cannot_blow_up),
        cmocka_unit_test(
            test_flow_deep_nesting_is_refused_where_it_passes_the_limit),
        cmocka_unit_test(test_flow_wire_round_trip_validates_again),
        cmocka_unit_test(test_flow_built_in_code_validates),
        cmocka_unit_test(test_flow_parse_value_reads_yaml_scalars_and_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
