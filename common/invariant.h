/* common/invariant.h: what to do when a state change that should be
 * impossible is asked for (a programmer error, not bad input). In a
 * checked build (SLUICE_CHECKED: Debug builds and CI) it aborts at once
 * with the message, so that a test cannot miss it. Otherwise it is logged
 * as an error and the caller recovers: the run concerned fails, it never
 * hangs. Any thread. */
#ifndef SL_INVARIANT_H
#define SL_INVARIANT_H

#include <stdbool.h>

/* Whether this build aborts on a broken invariant. */
bool sl_invariant_is_checked(void);

/* Reports a broken invariant in subsystem: aborts in a checked build,
 * else logs it at ERROR. Returns (so the caller can recover) only in an
 * unchecked build. */
void sl_invariant_broken(const char *subsystem, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
