/* common/duration.h: durations as people write them: "500ms", "30s",
 * "10m", "1h", "7d", or "forever". */
#ifndef SL_DURATION_H
#define SL_DURATION_H

#include <stdint.h>

#define SL_DURATION_FOREVER (-1)

/* Parses text into *ms. "forever" gives SL_DURATION_FOREVER. A bare
 * number is seconds. Returns 0, or SL_EINVAL for anything else (a missing
 * unit is fine, an unknown one or an overflow is not). */
int sl_duration_parse(const char *text, int64_t *ms);

#endif
