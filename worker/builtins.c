/* worker/builtins.c: the tasks every worker has. Thread-safe and pure but
 * for sleep_ms and spin_us, which take time on purpose (for tests and load
 * tests), and fail, which always fails. */
#include "program.h"
#include "registry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Adds or multiplies numbers: ints stay ints (failing on overflow), any
 * double makes the result a double. */
static int
fold_numbers(sl_task_ctx_t *ctx, const sl_value_t *list, bool is_mul,
             const char *who, sl_value_t **result)
{
    int64_t acc = is_mul ? 1 : 0;
    double dacc = is_mul ? 1.0 : 0.0;
    bool is_double = false;
    for (size_t i = 0; i < sl_value_count(list); i++) {
        const sl_value_t *v = sl_value_at(list, i);
        bool ok;
        double d = sl_value_get_number(v, &ok);
        if (!ok)
            return sl_task_fail(ctx, "%s: argument %zu is a %s, not a number",
                                who, i + 1, sl_type_name(sl_value_type(v)));
        dacc = is_mul ? dacc * d : dacc + d;
        if (sl_value_type(v) == SL_DOUBLE) {
            is_double = true;
            continue;
        }
        int64_t x = sl_value_get_int(v);
        if (is_mul ? __builtin_mul_overflow(acc, x, &acc)
                   : __builtin_add_overflow(acc, x, &acc))
            return sl_task_fail(ctx, "%s: integer overflow", who);
    }
    *result = is_double ? sl_value_new_double(dacc) : sl_value_new_int(acc);
    return 0;
}

static int
task_add(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    return fold_numbers(ctx, args, false, "add", result);
}

static int
task_mul(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    return fold_numbers(ctx, args, true, "mul", result);
}

/* sum([numbers]): the sum of one list argument. */
static int
task_sum(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    const sl_value_t *list = sl_value_at(args, 0);
    if (sl_value_count(args) != 1 || sl_value_type(list) != SL_LIST)
        return sl_task_fail(ctx, "sum takes one argument, a list of numbers");
    return fold_numbers(ctx, list, false, "sum", result);
}

/* concat: strings joined, or lists appended, in order. */
static int
task_concat(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    sl_type_t type = sl_value_type(sl_value_at(args, 0));
    if (sl_value_count(args) == 0 || (type != SL_STRING && type != SL_LIST))
        return sl_task_fail(ctx, "concat takes strings or lists");
    *result = type == SL_LIST ? sl_value_new_list() : NULL;
    size_t total = 0;
    for (size_t i = 0; i < sl_value_count(args); i++) {
        const sl_value_t *v = sl_value_at(args, i);
        if (sl_value_type(v) != type) {
            sl_value_destroy(result);
            return sl_task_fail(ctx, "concat: argument %zu is a %s, not a %s",
                                i + 1, sl_type_name(sl_value_type(v)),
                                sl_type_name(type));
        }
        for (size_t j = 0; type == SL_LIST && j < sl_value_count(v); j++) {
            sl_value_t *item = sl_value_copy(sl_value_at(v, j));
            sl_value_push(*result, &item);
        }
        size_t size = 0;
        sl_value_get_string(v, &size);
        total += size;
    }
    if (type == SL_LIST)
        return 0;
    char *joined = malloc(total + 1);
    if (!joined)
        return sl_task_fail(ctx, "concat: out of memory");
    size_t at = 0;
    for (size_t i = 0; i < sl_value_count(args); i++) {
        size_t size;
        const char *s = sl_value_get_string(sl_value_at(args, i), &size);
        memcpy(joined + at, s, size);
        at += size;
    }
    *result = sl_value_new_string_len(joined, total);
    free(joined);
    return 0;
}

/* echo(x): x. echo(x, y, ...): the list of its arguments. */
static int
task_echo(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    (void)ctx;
    *result = sl_value_count(args) == 1 ? sl_value_copy(sl_value_at(args, 0))
                                        : sl_value_copy(args);
    return 0;
}

static int
want_count(sl_task_ctx_t *ctx, const sl_value_t *args, const char *who,
           int64_t *n)
{
    const sl_value_t *v = sl_value_at(args, 0);
    if (sl_value_type(v) != SL_INT || sl_value_get_int(v) < 0 ||
        sl_value_get_int(v) > 3600LL * 1000 * 1000) {
        sl_task_fail(ctx, "%s takes a non-negative integer first", who);
        return -1;
    }
    *n = sl_value_get_int(v);
    return 0;
}

/* sleep_ms(n[, x]): sleeps n ms, returns x (or n). Stops at once, failed,
 * when its run is cancelled. */
static int
task_sleep_ms(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    int64_t ms;
    if (want_count(ctx, args, "sleep_ms", &ms) < 0)
        return -1;
    for (int64_t left = ms; left > 0; left -= 10) {
        int64_t slice = left < 10 ? left : 10;
        struct timespec ts = {0, (long)slice * 1000000L};
        while (nanosleep(&ts, &ts) != 0)
            ;
        if (sl_task_is_cancelled(ctx))
            return sl_task_fail(ctx, "cancelled");
    }
    *result = sl_value_copy(sl_value_at(args, sl_value_count(args) > 1));
    return 0;
}

/* spin_us(n[, x]): keeps a core busy n µs, returns x (or n). */
static int
task_spin_us(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    int64_t us;
    struct timespec start, now;
    if (want_count(ctx, args, "spin_us", &us) < 0)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000000LL +
                 (now.tv_nsec - start.tv_nsec) / 1000 <
             us);
    *result = sl_value_copy(sl_value_at(args, sl_value_count(args) > 1));
    return 0;
}

/* fail([message]): always fails. */
static int
task_fail(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    (void)result;
    const char *msg = sl_value_get_string(sl_value_at(args, 0), NULL);
    return sl_task_fail(ctx, "%s", msg ? msg : "fail: failed as asked");
}

static const sl_task_def_t builtins[] = {
    {"add", 1, task_add, "sum of its number arguments"},
    {"mul", 1, task_mul, "product of its number arguments"},
    {"sum", 1, task_sum, "sum of a list of numbers"},
    {"concat", 1, task_concat, "strings joined or lists appended"},
    {"echo", 1, task_echo, "its argument (or list of arguments)"},
    {"sleep_ms", 1, task_sleep_ms, "sleeps N ms, returns its 2nd argument"},
    {"spin_us", 1, task_spin_us, "busy for N us, returns its 2nd argument"},
    {"fail", 1, task_fail, "always fails, with its argument as the message"},
};

/* exec@1 runs in the executor itself (exec_program.c); this is only what
 * the registry holds, so that the worker advertises it. */
static int
task_exec(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    (void)args;
    (void)result;
    return sl_task_fail(ctx, "exec: a program task runs in the executor");
}

int
sl_builtins_register_exec(sl_registry_t *reg, sl_error_t *err)
{
    static const sl_task_def_t exec = {SL_PROGRAM_TASK, SL_PROGRAM_VERSION,
                                       task_exec,
                                       "runs a program its --exec rules "
                                       "allow"};
    return sl_registry_add(reg, &exec, err);
}

int
sl_builtins_register(sl_registry_t *reg, sl_error_t *err)
{
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        int rc = sl_registry_add(reg, &builtins[i], err);
        if (rc < 0)
            return rc;
    }
    return 0;
}
