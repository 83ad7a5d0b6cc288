/* tests/unit/test_wire.c: values on the wire (common/wire.c): round trips,
 * and every way a received value can be malformed, including a
 * depth-10,000 message that would overflow a recursive decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "wire.h"

#include <stdlib.h>
#include <string.h>

static sl_value_t *
nested(void)
{
    sl_value_t *m = sl_value_new_map(), *l = sl_value_new_list();
    sl_value_t *items[] = {sl_value_new_int(INT64_MIN),
                           sl_value_new_double(-0.5),
                           sl_value_new_string(""),
                           sl_value_new_bytes("\0\1", 2),
                           sl_value_new_map(),
                           sl_value_new_list()};
    for (size_t i = 0; i < 6; i++)
        sl_value_push(l, &items[i]);
    sl_value_t *t = sl_value_new_bool(true);
    sl_value_put(m, "list", &l);
    sl_value_put(m, "t", &t);
    return m;
}

static void
test_wire_round_trip_keeps_the_value(void **state)
{
    (void)state;
    sl_value_t *v = nested(), *back = NULL;
    sl_buf_t b = {0};
    assert_int_equal(sl_wire_value_encode(v, &b, NULL), 0);
    assert_int_equal(sl_wire_value_decode(b.data, b.size, &back, NULL), 0);
    assert_true(sl_value_equal(v, back));
    sl_buf_fini(&b);
    sl_value_destroy(&v);
    sl_value_destroy(&back);
}

/* Nodes straight into a message, to build what no encoder would. */
typedef struct {
    Sluice__Value msg;
    Sluice__ValueNode *nodes;
    Sluice__ValueNode **ptrs;
} raw_t;

static void
raw_init(raw_t *r, size_t n)
{
    sluice__value__init(&r->msg);
    r->nodes = calloc(n, sizeof *r->nodes);
    r->ptrs = calloc(n, sizeof *r->ptrs);
    for (size_t i = 0; i < n; i++) {
        sluice__value_node__init(&r->nodes[i]);
        r->ptrs[i] = &r->nodes[i];
    }
    r->msg.nodes = r->ptrs;
    r->msg.n_nodes = n;
}

static void
raw_fini(raw_t *r)
{
    free(r->nodes);
    free(r->ptrs);
}

static void
expect_error(raw_t *r, const char *needle)
{
    sl_value_t *v = NULL;
    sl_error_t err = {0};
    size_t size = sluice__value__get_packed_size(&r->msg);
    uint8_t *bytes = malloc(size + 1);
    sluice__value__pack(&r->msg, bytes);
    assert_int_equal(sl_wire_value_decode(bytes, size, &v, &err), SL_EINVAL);
    assert_null(v);
    if (!strstr(err.msg, needle))
        fail_msg("error '%s' does not say '%s'", err.msg, needle);
    free(bytes);
}

static void
test_wire_depth_10000_is_refused_without_recursion(void **state)
{
    (void)state;
    raw_t r;
    raw_init(&r, 10000);
    for (size_t i = 0; i < 9999; i++) {
        r.nodes[i].type = SLUICE__VALUE_NODE__TYPE__LIST;
        r.nodes[i].count = 1;
    }
    expect_error(&r, "deeper than 64");
    raw_fini(&r);
}

static void
test_wire_bad_child_count_is_refused(void **state)
{
    (void)state;
    raw_t r;
    raw_init(&r, 2);
    r.nodes[0].type = SLUICE__VALUE_NODE__TYPE__LIST;
    r.nodes[0].count = 5; /* only one node follows */
    expect_error(&r, "bad child count");
    r.nodes[0].type = SLUICE__VALUE_NODE__TYPE__INT;
    r.nodes[0].count = 1; /* a scalar with children */
    expect_error(&r, "bad child count");
    raw_fini(&r);
}

static void
test_wire_nodes_after_the_end_are_refused(void **state)
{
    (void)state;
    raw_t r;
    raw_init(&r, 2);
    expect_error(&r, "after the end");
    raw_fini(&r);
}

static void
test_wire_duplicate_or_nul_map_keys_are_refused(void **state)
{
    (void)state;
    raw_t r;
    raw_init(&r, 3);
    r.nodes[0].type = SLUICE__VALUE_NODE__TYPE__MAP;
    r.nodes[0].count = 2;
    r.nodes[1].key = (ProtobufCBinaryData){1, (uint8_t *)"k"};
    r.nodes[2].key = (ProtobufCBinaryData){1, (uint8_t *)"k"};
    expect_error(&r, "appears twice");
    r.nodes[2].key = (ProtobufCBinaryData){2, (uint8_t *)"a\0"};
    expect_error(&r, "NUL");
    raw_fini(&r);
}

static void
test_wire_empty_map_key_is_fine(void **state)
{
    (void)state;
    sl_value_t *m = sl_value_new_map(), *v = sl_value_new_int(1), *back = NULL;
    sl_value_put(m, "", &v);
    sl_buf_t b = {0};
    assert_int_equal(sl_wire_value_encode(m, &b, NULL), 0);
    assert_int_equal(sl_wire_value_decode(b.data, b.size, &back, NULL), 0);
    assert_true(sl_value_equal(m, back));
    sl_buf_fini(&b);
    sl_value_destroy(&m);
    sl_value_destroy(&back);
}

static void
test_wire_unknown_type_is_refused(void **state)
{
    (void)state;
    raw_t r;
    raw_init(&r, 1);
    r.nodes[0].type = 42;
    expect_error(&r, "unknown type");
    raw_fini(&r);
}

static void
test_wire_garbage_is_refused(void **state)
{
    (void)state;
    sl_value_t *v = NULL;
    sl_error_t err = {0};
    assert_int_equal(sl_wire_value_decode("\xff\xff\xff\xff", 4, &v, &err),
                     SL_EINVAL);
    assert_non_null(strstr(err.msg, "not a valid"));
}

static void
test_wire_encoder_refuses_too_deep(void **state)
{
    (void)state;
    sl_value_t *v = sl_value_new_null();
    for (int i = 0; i < 70; i++) {
        sl_value_t *l = sl_value_new_list();
        sl_value_push(l, &v);
        v = l;
    }
    sl_buf_t b = {0};
    assert_int_equal(sl_wire_value_encode(v, &b, NULL), SL_EINVAL);
    sl_buf_fini(&b);
    sl_value_destroy(&v);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_round_trip_keeps_the_value),
        cmocka_unit_test(test_wire_depth_10000_is_refused_without_recursion),
        cmocka_unit_test(test_wire_bad_child_count_is_refused),
        cmocka_unit_test(test_wire_nodes_after_the_end_are_refused),
        cmocka_unit_test(test_wire_duplicate_or_nul_map_keys_are_refused),
        cmocka_unit_test(test_wire_empty_map_key_is_fine),
        cmocka_unit_test(test_wire_unknown_type_is_refused),
        cmocka_unit_test(test_wire_garbage_is_refused),
        cmocka_unit_test(test_wire_encoder_refuses_too_deep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
