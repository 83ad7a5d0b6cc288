/* examples/plugin/example_tasks.c: a task library written as a user would
 * write one, against <sluice/task.h> only. Build it as a shared object and
 * load it with `sluice-worker --tasks ./libexample_tasks.so`.
 *
 * add_numbers@1 adds two integers. So that tests and curious users can see
 * when it really runs (and when the cache answered instead), each call
 * appends a line to the file named by $SLUICE_EXAMPLE_CALLS, if set. */
#include <sluice/task.h>

#include <stdio.h>
#include <stdlib.h>

static void
note_call(const char *task)
{
    const char *path = getenv("SLUICE_EXAMPLE_CALLS");
    if (!path)
        return;
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, "%s\n", task);
        fclose(f);
    }
}

static int
add_numbers(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    const sl_value_t *a = sl_value_at(args, 0), *b = sl_value_at(args, 1);
    if (sl_value_count(args) != 2 || sl_value_type(a) != SL_INT ||
        sl_value_type(b) != SL_INT)
        return sl_task_fail(ctx, "add_numbers takes two integers");
    int64_t sum;
    if (__builtin_add_overflow(sl_value_get_int(a), sl_value_get_int(b), &sum))
        return sl_task_fail(ctx, "add_numbers: integer overflow");
    note_call("add_numbers");
    *result = sl_value_new_int(sum);
    return *result ? 0 : sl_task_fail(ctx, "out of memory");
}

/* word_count@1: the number of space-separated words in a string. */
static int
word_count(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    size_t size;
    const char *s = sl_value_get_string(sl_value_at(args, 0), &size);
    if (!s || sl_value_type(sl_value_at(args, 0)) != SL_STRING)
        return sl_task_fail(ctx, "word_count takes a string");
    int64_t words = 0;
    for (size_t i = 0; i < size; i++)
        words += s[i] != ' ' && (i == 0 || s[i - 1] == ' ');
    note_call("word_count");
    *result = sl_value_new_int(words);
    return 0;
}

static const sl_task_def_t tasks[] = {
    {"add_numbers", 1, add_numbers, "adds two integers"},
    {"word_count", 1, word_count, "counts the words of a string"},
};

SL_PLUGIN(tasks)
