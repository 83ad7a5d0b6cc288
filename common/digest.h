/* common/digest.h: the canonical encoding of values and the BLAKE2b-256
 * digests cache keys are made of. The same inputs give the same bytes on
 * every machine, compiler and release; tests/unit/test_digest.c pins them. */
#ifndef SL_DIGEST_H
#define SL_DIGEST_H

#include "buf.h"
#include "value.h"

#include <stdint.h>

#define SL_DIGEST_BYTES     32
#define SL_DIGEST_HEX_BYTES (2 * SL_DIGEST_BYTES + 1)

/* Appends the canonical encoding of v to out (docs/CACHING.md gives the
 * grammar). Returns 0, SL_EINVAL if v nests deeper than
 * SL_VALUE_MAX_DEPTH, or SL_ENOMEM; on error out may hold a partial
 * encoding. */
int sl_digest_encode(const sl_value_t *v, sl_buf_t *out);

/* digest = BLAKE2b-256(canonical(v)). */
int sl_digest_value(const sl_value_t *v, uint8_t digest[SL_DIGEST_BYTES]);

/* The input digest of a task call: BLAKE2b-256 over the domain tag
 * "sluice-task-v1", then canonical [task, version, args]. */
int sl_digest_task(const char *task, uint32_t version, const sl_value_t *args,
                   uint8_t digest[SL_DIGEST_BYTES]);

/* digest = BLAKE2b-256(data). */
int sl_digest_bytes(const void *data, size_t size,
                    uint8_t digest[SL_DIGEST_BYTES]);

/* Lower-case hex of a digest, NUL-terminated. */
void sl_digest_hex(const uint8_t digest[SL_DIGEST_BYTES],
                   char hex[SL_DIGEST_HEX_BYTES]);

#endif
