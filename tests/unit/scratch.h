/* tests/unit/scratch.h: a scratch folder for a unit test, made under /tmp
 * and removed with all it holds. */
#ifndef SL_TEST_SCRATCH_H
#define SL_TEST_SCRATCH_H

#include <stddef.h>

/* Makes /tmp/sluice-NAME.XXXXXX into dir (size bytes); fails the test if
 * it cannot. */
void sl_test_scratch_new(char *dir, size_t size, const char *name);

/* Removes dir and everything below it; fails the test if it cannot. */
void sl_test_scratch_remove(const char *dir);

#endif
