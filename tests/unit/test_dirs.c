/* tests/unit/test_dirs.c: making folders (common/dirs.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dirs.h"
#include "scratch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void
test_dirs_make_every_missing_folder(void **state)
{
    (void)state;
    char dir[64], path[160];
    struct stat st;
    sl_test_scratch_new(dir, sizeof dir, "dirs");
    snprintf(path, sizeof path, "%s/a/b/c", dir);
    assert_int_equal(sl_dirs_make(path, false), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(sl_dirs_make(path, false), 0); /* there already */
    snprintf(path, sizeof path, "%s/x/y/key", dir);
    assert_int_equal(sl_dirs_make(path, true), 0); /* not "key" itself */
    snprintf(path, sizeof path, "%s/x/y", dir);
    assert_int_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/x/y/key", dir);
    assert_int_equal(stat(path, &st), -1);
    sl_test_scratch_remove(dir);
}

static void
test_dirs_say_why_they_cannot(void **state)
{
    (void)state;
    char dir[64], path[160], longer[5000];
    sl_test_scratch_new(dir, sizeof dir, "dirs");
    snprintf(path, sizeof path, "%s/file", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/file/sub", dir); /* a file in the way */
    assert_int_equal(sl_dirs_make(path, false), -1);
    assert_int_equal(errno, ENOTDIR);
    memset(longer, 'a', sizeof longer - 1);
    longer[0] = '/';
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(sl_dirs_make(longer, false), -1);
    assert_int_equal(errno, ENAMETOOLONG);
    sl_test_scratch_remove(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dirs_make_every_missing_folder),
        cmocka_unit_test(test_dirs_say_why_they_cannot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
