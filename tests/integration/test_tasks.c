/* tests/integration/test_tasks.c: a plugin for the integration tests:
 * counted@1 and counted@2 return their first argument times the version
 * and append "counted@V" to $SLUICE_TEST_CALLS, so a test sees every real
 * computation and which version did it. flaky@1(name, n) fails its first n
 * calls for a name, then returns the name; each call appends "flaky NAME"
 * to $SLUICE_TEST_CALLS. */
#include <sluice/task.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
counted(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result,
        int version)
{
    const char *path = getenv("SLUICE_TEST_CALLS");
    if (sl_value_type(sl_value_at(args, 0)) != SL_INT)
        return sl_task_fail(ctx, "counted takes an integer");
    if (path) {
        FILE *f = fopen(path, "a");
        if (f) {
            fprintf(f, "counted@%d\n", version);
            fclose(f);
        }
    }
    *result = sl_value_new_int(sl_value_get_int(sl_value_at(args, 0)) *
                               version);
    return 0;
}

static int
counted1(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    return counted(ctx, args, result, 1);
}

static int
counted2(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    return counted(ctx, args, result, 2);
}

/* Calls so far of "flaky NAME" in the call log, this one included. */
static int
count_calls(const char *path, const char *name)
{
    char line[256], want[200];
    int n = 0;
    snprintf(want, sizeof want, "flaky %s\n", name);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        n += strcmp(line, want) == 0;
    if (f)
        fclose(f);
    return n;
}

static int
flaky(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    const char *path = getenv("SLUICE_TEST_CALLS");
    const char *name = sl_value_get_string(sl_value_at(args, 0), NULL);
    int64_t failures = sl_value_get_int(sl_value_at(args, 1));
    if (!path || !name)
        return sl_task_fail(ctx, "flaky needs $SLUICE_TEST_CALLS and a name");
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, "flaky %s\n", name);
        fclose(f);
    }
    int calls = count_calls(path, name);
    if (calls <= failures)
        return sl_task_fail(ctx, "flaky: failure %d of %lld", calls,
                            (long long)failures);
    *result = sl_value_new_string(name);
    return 0;
}

static const sl_task_def_t tasks[] = {
    {"flaky", 1, flaky, "fails n times per name, then succeeds"},
    {"counted", 1, counted1, "x, counted"},
    {"counted", 2, counted2, "2x, counted"},
};

SL_PLUGIN(tasks)
