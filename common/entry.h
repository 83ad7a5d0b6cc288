/* common/entry.h: a cache entry (protobuf CacheEntry): the value and what
 * explains it: task, version, input digests, times, producer. */
#ifndef SL_ENTRY_H
#define SL_ENTRY_H

#include "buf.h"
#include "digest.h"
#include "error.h"

#include <stdbool.h>

/* 2: entries carry the digest of their key (1 did not: read as a miss). */
#define SL_ENTRY_FORMAT 2

/* A file a key covers (CacheEntry.files). */
typedef struct sl_entry_file {
    char *name;                      /* "$program" or an input's name */
    uint8_t digest[SL_DIGEST_BYTES]; /* its content */
} sl_entry_file_t;

/* A file a program task wrote (CacheEntry.outputs). */
typedef struct sl_entry_output {
    char *path;                      /* relative, inside the workspace */
    uint8_t digest[SL_DIGEST_BYTES]; /* its content: its blob's name */
    uint64_t size;                   /* bytes */
    uint32_t mode;                   /* 0755 or 0644 */
    bool is_in_blob_dir;             /* its blob is a file of --blob-dir */
} sl_entry_output_t;

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
    uint8_t key_digest[SL_DIGEST_BYTES];     /* sl_entry_key_digest of the
                                                key it is stored under */
    sl_entry_file_t *files;                  /* file_count, owned */
    size_t file_count;
    sl_entry_output_t *outputs; /* output_count, owned */
    size_t output_count;
} sl_entry_t;

/* What a stored entry read under a key turns out to be. Anything but
 * SL_ENTRY_OK is a miss: the task computes, and the reason is counted. */
typedef enum {
    SL_ENTRY_OK = 0,
    SL_ENTRY_CORRUPT,   /* does not decode, or of another format */
    SL_ENTRY_OTHER_KEY, /* made for another key (copied or planted) */
    SL_ENTRY_TOO_LARGE  /* over the read cap (SL_CACHE_READ_MAX_BYTES) */
} sl_entry_verdict_t;

/* The digest an entry stored under key carries: BLAKE2b-256 of
 * "sluice-key-v1" + key (docs/CACHING.md). */
void sl_entry_key_digest(const char *key, uint8_t out[SL_DIGEST_BYTES]);

/* Reads the entry stored under key from bytes into e (zeroed by the
 * caller): SL_ENTRY_OK, or why not (e left zeroed, err says it). One
 * digest of the key on top of the decode. */
sl_entry_verdict_t sl_entry_read(const void *data, size_t size, const char *key,
                                 sl_entry_t *e, sl_error_t *err);

/* The verdict's name, for logs and /metrics ("other_key"). */
const char *sl_entry_verdict_name(sl_entry_verdict_t v);

/* Frees what e holds; safe on a zeroed entry. */
void sl_entry_fini(sl_entry_t *e);

/* Appends the packed CacheEntry to out (format SL_ENTRY_FORMAT, with
 * e->key_digest: set it with sl_entry_key_digest). Returns 0, SL_EINVAL
 * (value over the caps) or SL_ENOMEM. */
int sl_entry_encode(const sl_entry_t *e, sl_buf_t *out, sl_error_t *err);

/* Fills e (zeroed by the caller) from bytes. On error e is left zeroed and
 * err says why: an entry that does not decode is a miss, never a crash. */
int sl_entry_decode(const void *data, size_t size, sl_entry_t *e,
                    sl_error_t *err);

/* Milliseconds since the epoch. */
int64_t sl_entry_now_ms(void);

#endif
