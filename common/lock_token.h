/* common/lock_token.h: the value of a cache lock (docs/CACHING.md,
 * "Across brokers"): TASK_ID:ATTEMPT:WORKER_ID, and which lock a retry of
 * the same task may take over. Pure; any thread. Pinned by
 * tests/conformance/vectors.txt for every implementation. */
#ifndef SL_LOCK_TOKEN_H
#define SL_LOCK_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "TASK_ID:ATTEMPT:WORKER_ID" into buf: the task id in lower-case hex,
 * the attempt in decimal. The snprintf count: buf holds it all if that
 * is below size. */
int sl_lock_token(char *buf, size_t size, uint64_t task_id, uint32_t attempt,
                  const char *worker_id);

/* Whether held, a lock's value, is an earlier attempt's of this task: it
 * starts with HEX:DECIMAL: (lower-case hex, at most 16 digits; decimal at
 * most 32 bits), HEX is task_id and DECIMAL is below attempt. Anything
 * else (another task, a later or the same attempt, a value written by no
 * sluice worker) is not, and the lock is waited for. */
bool sl_lock_token_is_earlier(const char *held, size_t size, uint64_t task_id,
                              uint32_t attempt);

#endif
