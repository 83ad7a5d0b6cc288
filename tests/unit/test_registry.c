/* tests/unit/test_registry.c: the task registry, the built-in tasks and the
 * plugin loader (worker/registry.c, builtins.c, plugin.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "registry.h"
#include "task_ctx.h"

#include <string.h>

static sl_registry_t *
builtins(void)
{
    sl_registry_t *reg = sl_registry_new();
    assert_int_equal(sl_builtins_register(reg, NULL), 0);
    return reg;
}

/* Runs task name on args given as YAML-ish ints; returns rc. */
static int
call(sl_registry_t *reg, const char *name, sl_value_t *args,
     sl_value_t **result, sl_task_ctx_t *ctx)
{
    const sl_task_def_t *def = sl_registry_find(reg, name, 0);
    assert_non_null(def);
    memset(ctx, 0, sizeof *ctx);
    int rc = def->fn(ctx, args, result);
    sl_value_destroy(&args);
    return rc;
}

static sl_value_t *
ints(int n, const int64_t *v)
{
    sl_value_t *l = sl_value_new_list();
    for (int i = 0; i < n; i++) {
        sl_value_t *x = sl_value_new_int(v[i]);
        sl_value_push(l, &x);
    }
    return l;
}

static void
test_builtins_compute(void **state)
{
    (void)state;
    sl_registry_t *reg = builtins();
    sl_task_ctx_t ctx;
    sl_value_t *r = NULL;
    assert_int_equal(call(reg, "add", ints(3, (int64_t[]){1, 2, 3}), &r, &ctx),
                     0);
    assert_int_equal(sl_value_get_int(r), 6);
    sl_value_destroy(&r);
    assert_int_equal(call(reg, "mul", ints(2, (int64_t[]){4, 5}), &r, &ctx), 0);
    assert_int_equal(sl_value_get_int(r), 20);
    sl_value_destroy(&r);
    sl_value_t *outer = sl_value_new_list(),
               *inner = ints(3, (int64_t[]){1, 2, 3});
    sl_value_push(outer, &inner);
    assert_int_equal(call(reg, "sum", outer, &r, &ctx), 0);
    assert_int_equal(sl_value_get_int(r), 6);
    sl_value_destroy(&r);
    sl_value_t *s = sl_value_new_list(), *a = sl_value_new_string("ab"),
               *b = sl_value_new_string("cd");
    sl_value_push(s, &a);
    sl_value_push(s, &b);
    assert_int_equal(call(reg, "concat", s, &r, &ctx), 0);
    assert_string_equal(sl_value_get_string(r, NULL), "abcd");
    sl_value_destroy(&r);
    sl_registry_destroy(&reg);
}

static void
test_builtins_fail_with_reasons(void **state)
{
    (void)state;
    sl_registry_t *reg = builtins();
    sl_task_ctx_t ctx;
    sl_value_t *r = NULL;
    assert_int_equal(call(reg, "add", ints(2, (int64_t[]){INT64_MAX, 1}), &r,
                          &ctx),
                     -1);
    assert_non_null(strstr(ctx.error, "overflow"));
    sl_value_t *l = sl_value_new_list(), *s = sl_value_new_string("x");
    sl_value_push(l, &s);
    assert_int_equal(call(reg, "mul", l, &r, &ctx), -1);
    assert_non_null(strstr(ctx.error, "argument 1 is a string"));
    assert_int_equal(call(reg, "fail", sl_value_new_list(), &r, &ctx), -1);
    assert_true(ctx.has_failed);
    assert_null(r);
    sl_registry_destroy(&reg);
}

static int
noop(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    (void)ctx;
    (void)args;
    *result = sl_value_new_null();
    return 0;
}

static void
test_registry_versions(void **state)
{
    (void)state;
    sl_registry_t *reg = sl_registry_new();
    sl_task_def_t v1 = {"t", 1, noop, ""}, v3 = {"t", 3, noop, ""},
                  bad = {"t", 0, noop, ""}, bad_name = {"no way", 1, noop, ""};
    sl_error_t err = {0};
    assert_int_equal(sl_registry_add(reg, &v3, NULL), 0);
    assert_int_equal(sl_registry_add(reg, &v1, NULL), 0);
    assert_int_equal(sl_registry_add(reg, &v1, &err), SL_EEXIST);
    assert_non_null(strstr(err.msg, "t@1 is registered twice"));
    assert_int_equal(sl_registry_add(reg, &bad, NULL), SL_EINVAL);
    assert_int_equal(sl_registry_add(reg, &bad_name, NULL), SL_EINVAL);
    assert_int_equal(sl_registry_find(reg, "t", 0)->version, 3);
    assert_int_equal(sl_registry_find(reg, "t", 1)->version, 1);
    assert_null(sl_registry_find(reg, "t", 2));
    assert_null(sl_registry_find(reg, "u", 0));
    sl_registry_destroy(&reg);
}

static void
test_plugins_load_or_say_why(void **state)
{
    (void)state;
    sl_registry_t *reg = builtins();
    sl_error_t err = {0};
    assert_int_equal(sl_registry_load_plugin(reg, "/nonexistent/lib.so", &err),
                     SL_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/lib.so"));
    assert_int_equal(sl_registry_load_plugin(reg, SLUICE_EXAMPLE_PLUGIN, &err),
                     0);
    const sl_task_def_t *def = sl_registry_find(reg, "add_numbers", 0);
    assert_non_null(def);
    sl_task_ctx_t ctx;
    sl_value_t *r = NULL;
    assert_int_equal(call(reg, "add_numbers", ints(2, (int64_t[]){5, 10}), &r,
                          &ctx),
                     0);
    assert_int_equal(sl_value_get_int(r), 15);
    sl_value_destroy(&r);
    /* loading it twice is a clear conflict, not a silent replacement */
    assert_int_equal(sl_registry_load_plugin(reg, SLUICE_EXAMPLE_PLUGIN, &err),
                     SL_EEXIST);
    assert_non_null(strstr(err.msg, "add_numbers@1 is registered twice"));
    sl_registry_destroy(&reg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtins_compute),
        cmocka_unit_test(test_builtins_fail_with_reasons),
        cmocka_unit_test(test_registry_versions),
        cmocka_unit_test(test_plugins_load_or_say_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
