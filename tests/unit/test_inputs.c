/* tests/unit/test_inputs.c: a task's inputs resolved and digested
 * (worker/inputs.c): files, folders, globs, symlinks, missing paths, and
 * the memo that reads an unchanged file once. Real files in a scratch
 * folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "flow.h"
#include "inputs.h"
#include "scratch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

typedef struct {
    char dir[256];          /* the workspace */
    sl_digest_memo_t *memo; /* one per test */
} world_t;

static int
setup(void **state)
{
    world_t *w = calloc(1, sizeof *w);
    sl_test_scratch_new(w->dir, sizeof w->dir, "inputs");
    w->memo = sl_digest_memo_new(100);
    assert_non_null(w->memo);
    *state = w;
    return 0;
}

static int
teardown(void **state)
{
    world_t *w = *state;
    sl_digest_memo_destroy(&w->memo);
    sl_test_scratch_remove(w->dir);
    free(w);
    return 0;
}

/* Writes text to dir/name, its mtime a minute ago (so the memo may keep
 * it). */
static void
put(const world_t *w, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", w->dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    struct timeval old[2];
    gettimeofday(&old[0], NULL);
    old[0].tv_sec -= 60;
    old[1] = old[0];
    assert_int_equal(utimes(path, old), 0);
}

static void
folder(const world_t *w, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", w->dir, name);
    assert_int_equal(mkdir(path, 0700), 0);
}

/* Resolves the inputs written as YAML; their files' digest list as
 * value. */
static int
resolve(world_t *w, const char *yaml, sl_inputs_t *in, sl_error_t *err)
{
    sl_value_t *v = NULL;
    assert_int_equal(sl_flow_parse_value(yaml, &v, err), 0);
    int rc = sl_inputs_resolve(v, w->dir, w->memo, in, err);
    sl_value_destroy(&v);
    return rc;
}

/* The digest of the whole list, as a key would take it. */
static void
digest_of(const sl_inputs_t *in, uint8_t out[SL_DIGEST_BYTES])
{
    sl_value_t *files = sl_value_new_list();
    assert_int_equal(sl_inputs_add_to(in, files), 0);
    assert_int_equal(sl_digest_value(files, out), 0);
    sl_value_destroy(&files);
}

static void
test_a_folder_expands_to_its_files_in_name_order(void **state)
{
    world_t *w = *state;
    sl_inputs_t in = {0};
    sl_error_t err = {0};
    folder(w, "data");
    folder(w, "data/sub");
    put(w, "data/b.txt", "bee");
    put(w, "data/a.txt", "ay");
    put(w, "data/sub/c.txt", "sea");
    put(w, "top.txt", "top");
    if (resolve(w, "[data, top.txt, data/a.txt]", &in, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(in.count, 4); /* data/a.txt once */
    assert_string_equal(in.files[0].name, "data/a.txt");
    assert_string_equal(in.files[1].name, "data/b.txt");
    assert_string_equal(in.files[2].name, "data/sub/c.txt");
    assert_string_equal(in.files[3].name, "top.txt");
    assert_int_equal(in.root_count, 3);
    sl_inputs_fini(&in);
}

static void
test_a_glob_matches_what_is_there_and_may_match_nothing(void **state)
{
    world_t *w = *state;
    sl_inputs_t in = {0};
    sl_error_t err = {0};
    put(w, "x1.csv", "1");
    put(w, "x2.csv", "2");
    put(w, "y.txt", "3");
    if (resolve(w, "['*.csv', '*.none']", &in, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(in.count, 2);
    assert_string_equal(in.files[0].name, "x1.csv");
    assert_string_equal(in.files[1].name, "x2.csv");
    sl_inputs_fini(&in);
}

static void
test_a_changed_file_changes_the_digest_an_unchanged_one_does_not(void **state)
{
    world_t *w = *state;
    sl_inputs_t in = {0};
    sl_error_t err = {0};
    uint8_t first[SL_DIGEST_BYTES], again[SL_DIGEST_BYTES],
        changed[SL_DIGEST_BYTES];
    put(w, "a.txt", "15000 words");
    put(w, "b.txt", "other");
    assert_int_equal(resolve(w, "[a.txt, b.txt]", &in, &err), 0);
    digest_of(&in, first);
    sl_inputs_fini(&in);
    assert_int_equal(resolve(w, "[a.txt, b.txt]", &in, &err), 0);
    digest_of(&in, again);
    sl_inputs_fini(&in);
    assert_memory_equal(first, again, SL_DIGEST_BYTES);
    /* read once each: the second time the memo answered */
    assert_int_equal(sl_digest_memo_stats(w->memo)->files_read, 2);
    assert_int_equal(sl_digest_memo_stats(w->memo)->memo_hits, 2);
    put(w, "a.txt", "15005 words");
    assert_int_equal(resolve(w, "[a.txt, b.txt]", &in, &err), 0);
    digest_of(&in, changed);
    sl_inputs_fini(&in);
    assert_memory_not_equal(first, changed, SL_DIGEST_BYTES);
    assert_int_equal(sl_digest_memo_stats(w->memo)->files_read, 3);
}

static void
test_a_file_changed_within_the_same_second_is_read_again(void **state)
{
    world_t *w = *state;
    sl_inputs_t in = {0};
    sl_error_t err = {0};
    uint8_t first[SL_DIGEST_BYTES], second[SL_DIGEST_BYTES];
    char path[512];
    snprintf(path, sizeof path, "%s/now.txt", w->dir);
    FILE *f = fopen(path, "w");
    fputs("aaaa", f);
    fclose(f);
    assert_int_equal(resolve(w, "[now.txt]", &in, &err), 0);
    digest_of(&in, first);
    sl_inputs_fini(&in);
    f = fopen(path, "w"); /* same size, maybe the same mtime */
    fputs("bbbb", f);
    fclose(f);
    assert_int_equal(resolve(w, "[now.txt]", &in, &err), 0);
    digest_of(&in, second);
    sl_inputs_fini(&in);
    assert_memory_not_equal(first, second, SL_DIGEST_BYTES);
}

static void
test_a_symlink_is_followed_and_named_as_written(void **state)
{
    world_t *w = *state;
    sl_inputs_t in = {0}, direct = {0};
    sl_error_t err = {0};
    char target[512], link[512];
    put(w, "real.txt", "content");
    snprintf(target, sizeof target, "%s/real.txt", w->dir);
    snprintf(link, sizeof link, "%s/link.txt", w->dir);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(resolve(w, "[link.txt]", &in, &err), 0);
    assert_int_equal(resolve(w, "[real.txt]", &direct, &err), 0);
    assert_string_equal(in.files[0].name, "link.txt");
    assert_memory_equal(in.files[0].digest, direct.files[0].digest,
                        SL_DIGEST_BYTES);
    sl_inputs_fini(&in);
    sl_inputs_fini(&direct);
}

static void
test_a_missing_or_deleted_input_is_an_error_naming_it(void **state)
{
    world_t *w = *state;
    sl_inputs_t in = {0};
    sl_error_t err = {0};
    uint8_t before[SL_DIGEST_BYTES], after[SL_DIGEST_BYTES];
    assert_int_equal(resolve(w, "[gone.txt]", &in, &err), SL_ENOTFOUND);
    assert_non_null(strstr(err.msg, "input 'gone.txt' does not exist"));
    assert_int_equal(in.count, 0);
    /* a file deleted from a folder input: the folder's digest changes */
    folder(w, "d");
    put(w, "d/1", "one");
    put(w, "d/2", "two");
    assert_int_equal(resolve(w, "[d]", &in, &err), 0);
    digest_of(&in, before);
    sl_inputs_fini(&in);
    char path[512];
    snprintf(path, sizeof path, "%s/d/2", w->dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(resolve(w, "[d]", &in, &err), 0);
    digest_of(&in, after);
    assert_int_equal(in.count, 1);
    sl_inputs_fini(&in);
    assert_memory_not_equal(before, after, SL_DIGEST_BYTES);
}

static void
test_what_is_not_a_path_is_refused(void **state)
{
    world_t *w = *state;
    sl_inputs_t in = {0};
    sl_error_t err = {0};
    assert_int_equal(resolve(w, "[1]", &in, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "inputs must be paths"));
    assert_int_equal(resolve(w, "[[[a]]]", &in, &err), SL_EINVAL);
    assert_int_equal(resolve(w, "['']", &in, &err), SL_EINVAL);
    assert_int_equal(resolve(w, "[/dev/null]", &in, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "neither a file nor a folder"));
}

int
main(void)
{
#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_a_folder_expands_to_its_files_in_name_order),
        TEST(test_a_glob_matches_what_is_there_and_may_match_nothing),
        TEST(test_a_changed_file_changes_the_digest_an_unchanged_one_does_not),
        TEST(test_a_file_changed_within_the_same_second_is_read_again),
        TEST(test_a_symlink_is_followed_and_named_as_written),
        TEST(test_a_missing_or_deleted_input_is_an_error_naming_it),
        TEST(test_what_is_not_a_path_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
