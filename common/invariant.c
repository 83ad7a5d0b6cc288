/* common/invariant.c: a broken invariant aborts a checked build and is
 * logged by any other (invariant.h). Any thread; no state. */
#include "invariant.h"

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

bool
sl_invariant_is_checked(void)
{
#ifdef SL_CHECKED
    return true;
#else
    return false;
#endif
}

void
sl_invariant_broken(const char *subsystem, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (sl_invariant_is_checked()) {
        fprintf(stderr, "sluice: broken invariant in %s: %s\n", subsystem, msg);
        abort();
    }
    sl_log(SL_LOG_ERROR, subsystem, "broken invariant: %s", msg);
}
