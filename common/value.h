/* common/value.h: the value model, as the public header declares it, plus
 * the caps that every edge applies to values from outside. */
#ifndef SL_VALUE_H
#define SL_VALUE_H

#include <sluice/value.h>

#include "caps.h"
#include "error.h"

/* For decoders: appends key → *item to map without looking for an earlier
 * key (O(1)); the decoder calls sl_value_duplicate_key once the map is
 * complete. *item is consumed. Returns 0, SL_EINVAL or SL_ENOMEM. */
int sl_value_append_unchecked(sl_value_t *map, const char *key, size_t key_size,
                              sl_value_t **item);

/* A key that stands twice in map (borrowed), or NULL. O(n log n). */
const char *sl_value_duplicate_key(const sl_value_t *map);

/* Whether v fits in one message: nests at most SL_VALUE_MAX_DEPTH deep and
 * has at most SL_VALUE_MAX_NODES nodes. 0, or SL_ETOOBIG with err saying
 * which cap it passes. Stops counting at the cap. */
int sl_value_check_caps(const sl_value_t *v, sl_error_t *err);

/* Whether s[0..size) is valid UTF-8 with no NUL. */
bool sl_value_is_utf8(const char *s, size_t size);

/* map[key] = a string (NULL as "") or an int: for building reports. */
int sl_value_put_string(sl_value_t *map, const char *key, const char *s);
int sl_value_put_int(sl_value_t *map, const char *key, int64_t i);

/* map[key] as an int >= 0 into *out, for decoding reports; else SL_EINVAL
 * with err "WHAT: 'KEY' must be an integer >= 0". */
int sl_value_want_count(const sl_value_t *map, const char *key,
                        const char *what, uint64_t *out, sl_error_t *err);

#endif
