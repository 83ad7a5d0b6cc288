/* common/key.h: cache keys. Inputs mode: sluice:v1:<namespace>:<task>:<hex
 * of the input digest>. Key mode: sluice:v1:<namespace>:<cache_key>. */
#ifndef SL_KEY_H
#define SL_KEY_H

#include "digest.h"
#include "flow.h"

#define SL_KEY_PREFIX "sluice:v1:"

/* Writes the key into out (size bytes, SL_KEY_MAX_BYTES + 1 is enough).
 * Returns 0, or SL_EINVAL if it does not fit or mode is SL_CACHE_NONE. */
int sl_key_build(char *out, size_t size, sl_cache_mode_t mode, const char *ns,
                 const char *task, const char *cache_key,
                 const uint8_t digest[SL_DIGEST_BYTES]);

#endif
