/* common/entry.h: a cache entry (protobuf CacheEntry): the value and what
 * explains it: task, version, input digests, times, producer. */
#ifndef SL_ENTRY_H
#define SL_ENTRY_H

#include "buf.h"
#include "digest.h"
#include "error.h"

#include <stdbool.h>

#define SL_ENTRY_FORMAT 1

typedef struct sl_entry {
    sl_value_t *value;                       /* the result, owned */
    char *task;                              /* task name, owned */
    uint32_t version;                        /* task version that computed it */
    uint8_t input_digest[SL_DIGEST_BYTES];   /* sl_digest_task of the call */
    bool has_input_digest;                   /* input_digest is set */
    uint8_t (*arg_digests)[SL_DIGEST_BYTES]; /* one per argument, owned */
    size_t arg_count;                        /* entries in arg_digests */
    int64_t created_ms;                      /* unix time it was stored */
    int64_t expires_ms;                      /* unix time; 0: never */
    uint64_t duration_us;                    /* compute time */
    char *producer;                          /* worker id, owned */
} sl_entry_t;

/* Frees what e holds; safe on a zeroed entry. */
void sl_entry_fini(sl_entry_t *e);

/* Appends the packed CacheEntry to out. Returns 0, SL_EINVAL (value over
 * the caps) or SL_ENOMEM. */
int sl_entry_encode(const sl_entry_t *e, sl_buf_t *out, sl_error_t *err);

/* Fills e (zeroed by the caller) from bytes. On error e is left zeroed and
 * err says why: an entry that does not decode is a miss, never a crash. */
int sl_entry_decode(const void *data, size_t size, sl_entry_t *e,
                    sl_error_t *err);

/* Milliseconds since the epoch. */
int64_t sl_entry_now_ms(void);

#endif
