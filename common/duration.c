/* common/duration.c: parsing durations. Pure; any thread. */
#include "duration.h"

#include <sluice/error.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
sl_duration_parse(const char *text, int64_t *ms)
{
    static const struct {
        const char *unit; /* suffix */
        int64_t ms;       /* milliseconds per unit */
    } units[] = {{"ms", 1},      {"s", 1000},     {"m", 60000},
                 {"h", 3600000}, {"d", 86400000}, {"", 1000}};
    if (strcmp(text, "forever") == 0) {
        *ms = SL_DURATION_FOREVER;
        return 0;
    }
    if (text[0] < '0' || text[0] > '9')
        return SL_EINVAL;
    char *end;
    errno = 0;
    double n = strtod(text, &end);
    if (errno || end == text)
        return SL_EINVAL;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) != 0)
            continue;
        double total = n * (double)units[i].ms;
        if (total > 9.2e18)
            return SL_EINVAL;
        *ms = (int64_t)total;
        return 0;
    }
    return SL_EINVAL;
}
