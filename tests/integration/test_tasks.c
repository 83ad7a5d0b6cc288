/* tests/integration/test_tasks.c: a plugin for the integration tests:
 * counted@1 and counted@2 return their first argument times the version
 * and append "counted@V" to $SLUICE_TEST_CALLS, so a test sees every real
 * computation and which version did it. */
#include <sluice/task.h>

#include <stdio.h>
#include <stdlib.h>

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

static const sl_task_def_t tasks[] = {
    {"counted", 1, counted1, "x, counted"},
    {"counted", 2, counted2, "2x, counted"},
};

SL_PLUGIN(tasks)
