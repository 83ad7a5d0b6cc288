/* tests/unit/scratch.c: scratch folders for unit tests (scratch.h). */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "scratch.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

void
sl_test_scratch_new(char *dir, size_t size, const char *name)
{
    snprintf(dir, size, "/tmp/sluice-%s.XXXXXX", name);
    assert_non_null(mkdtemp(dir));
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void
sl_test_scratch_remove(const char *dir)
{
    assert_int_equal(nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}
