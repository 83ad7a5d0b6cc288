/* common/key.c: building cache keys. Pure; any thread. */
#include "key.h"

#include <stdio.h>

int
sl_key_build(char *out, size_t size, sl_cache_mode_t mode, const char *ns,
             const char *task, const char *cache_key,
             const uint8_t digest[SL_DIGEST_BYTES])
{
    char hex[SL_DIGEST_HEX_BYTES];
    int n;
    switch (mode) {
    case SL_CACHE_INPUTS:
        sl_digest_hex(digest, hex);
        n = snprintf(out, size, SL_KEY_PREFIX "%s:%s:%s", ns, task, hex);
        break;
    case SL_CACHE_KEY:
        n = snprintf(out, size, SL_KEY_PREFIX "%s:%s", ns, cache_key);
        break;
    default: return SL_EINVAL;
    }
    return n < 0 || (size_t)n >= size || n > SL_KEY_MAX_BYTES ? SL_EINVAL : 0;
}
