/* worker/outputs.h: the files a program task writes (its `outputs:`):
 * gathered from its working folder when it succeeds, delivered into the
 * workspace, stored content-addressed (a blob per distinct content: in
 * the cache up to SL_BLOB_INLINE_MAX_BYTES, beyond in the worker's
 * --blob-dir), and on a hit restored into the workspace from there. One
 * executor thread's. */
#ifndef SL_OUTPUTS_H
#define SL_OUTPUTS_H

#include "cache.h"
#include "entry.h"
#include "error.h"
#include "inputs.h"
#include "value.h"

typedef struct sl_outputs {
    sl_entry_output_t *files; /* count files, in path order, owned */
    size_t count;
} sl_outputs_t;

/* Where blobs go: the cache (small ones), and a folder every worker sees
 * (larger ones; NULL: none, and a larger output is not cached). */
typedef struct sl_blob_store {
    sl_cache_t *cache;    /* the job's cache; NULL: nothing is stored */
    const char *ns;       /* the flow's namespace */
    const char *blob_dir; /* --blob-dir, or NULL */
} sl_blob_store_t;

/* Gathers every file under the declared paths (a LIST of relative paths)
 * of folder: a file, or a folder's files (symlinks are refused: an output
 * is content the program wrote). A declared path it did not write is an
 * error naming it. 0, or an error with *out empty. */
int sl_outputs_collect(const sl_value_t *declared, const char *folder,
                       sl_outputs_t *out, sl_error_t *err);

/* Copies each file of o from folder into workspace at the same path
 * (folders made; a temporary file renamed over, so a reader never sees
 * half a file). 0, or an error naming the file. */
int sl_outputs_deliver(const sl_outputs_t *o, const char *folder,
                       const char *workspace, sl_error_t *err);

/* Stores each distinct content of o (read from folder) as a blob, with
 * the entry's TTL: a file over SL_BLOB_INLINE_MAX_BYTES goes to the blob
 * folder (is_in_blob_dir set). SL_ETOOBIG if one is over it and there is
 * no blob folder, SL_ECACHE or SL_EIO otherwise; err says which file. */
int sl_outputs_store(sl_outputs_t *o, const char *folder,
                     const sl_blob_store_t *store, int64_t ttl_ms,
                     sl_error_t *err);

/* On a hit: writes each output of e into workspace, unless a file with
 * that content is there already (its digest, by the memo), from its blob,
 * checked against its digest. An error (a blob gone or changed) means the
 * hit cannot be served: the task computes. */
int sl_outputs_restore(const sl_entry_t *e, const sl_blob_store_t *store,
                       const char *workspace, sl_digest_memo_t *memo,
                       sl_error_t *err);

/* The key of the blob of content digest in namespace ns: sluice:v1:NS:
 * $blob:HEX (a task name never holds '$'). */
void sl_outputs_blob_key(char *out, size_t size, const char *ns,
                         const uint8_t digest[SL_DIGEST_BYTES]);

void sl_outputs_fini(sl_outputs_t *o);

#endif
