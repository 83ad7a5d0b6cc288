/* common/digest.h: the canonical encoding of values and the BLAKE2b-256
 * digests cache keys are made of. The same inputs give the same bytes on
 * every machine, compiler and release; tests/unit/test_digest.c pins them. */
#ifndef SL_DIGEST_H
#define SL_DIGEST_H

#include "buf.h"
#include "error.h"
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

/* The same, with the files the call reads: files is a LIST of [name,
 * BYTES digest] in name order (a program's own file first, named
 * "$program"), encoded after the args; NULL or empty: sl_digest_task's
 * digest, unchanged (docs/CACHING.md). */
int sl_digest_task_files(const char *task, uint32_t version,
                         const sl_value_t *args, const sl_value_t *files,
                         uint8_t digest[SL_DIGEST_BYTES]);

/* sl_digest_task_files hashed with key (BLAKE2b's keyed mode): one pass
 * for a digest of the call and of what key stands for (the broker's
 * identity of a job: the call under its node's cache settings). Not a
 * cache key. */
int sl_digest_task_keyed(const char *task, uint32_t version,
                         const sl_value_t *args, const sl_value_t *files,
                         const uint8_t key[SL_DIGEST_BYTES],
                         uint8_t digest[SL_DIGEST_BYTES]);

/* digest = BLAKE2b-256 of what fd reads to its end, streamed; *size
 * (if not NULL) the bytes read. 0, or SL_EIO with err saying why. */
int sl_digest_fd(int fd, uint8_t digest[SL_DIGEST_BYTES], uint64_t *size,
                 sl_error_t *err);

/* digest = BLAKE2b-256(data). */
int sl_digest_bytes(const void *data, size_t size,
                    uint8_t digest[SL_DIGEST_BYTES]);

/* Lower-case hex of a digest, NUL-terminated. */
void sl_digest_hex(const uint8_t digest[SL_DIGEST_BYTES],
                   char hex[SL_DIGEST_HEX_BYTES]);

#endif
