/* common/lock_token.c: a cache lock's value, and the takeover rule. */
#include "lock_token.h"

#include <stdio.h>

int
sl_lock_token(char *buf, size_t size, uint64_t task_id, uint32_t attempt,
              const char *worker_id)
{
    return snprintf(buf, size, "%llx:%u:%s", (unsigned long long)task_id,
                    attempt, worker_id);
}

/* Reads digits of base 16 (lower-case) or 10 at s[*at] up to ':', at most
 * max; false if none, another character, or over max. */
static bool
read_number(const char *s, size_t size, size_t *at, int base, uint64_t max,
            uint64_t *out)
{
    size_t start = *at;
    uint64_t n = 0;
    for (; *at < size && s[*at] != ':'; (*at)++) {
        char c = s[*at];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                     : base == 16 && c >= 'a' && c <= 'f'
                         ? (unsigned)(c - 'a' + 10)
                         : 99;
        if (d >= (unsigned)base || n > (max - d) / (uint64_t)base)
            return false;
        n = n * (uint64_t)base + d;
    }
    if (*at == start || *at == size)
        return false; /* no digits, or no ':' after them */
    (*at)++;
    *out = n;
    return true;
}

bool
sl_lock_token_is_earlier(const char *held, size_t size, uint64_t task_id,
                         uint32_t attempt)
{
    size_t at = 0;
    uint64_t id = 0, held_attempt = 0;
    return read_number(held, size, &at, 16, UINT64_MAX, &id) &&
           read_number(held, size, &at, 10, UINT32_MAX, &held_attempt) &&
           id == task_id && held_attempt < attempt;
}
