/* worker/inputs.h: what a task reads (its `inputs:`), resolved on the
 * worker: paths, folders and globs expanded into files, each digested
 * (BLAKE2b, streamed), so that the task's cache key follows their
 * content. A memo of digests by (path, device, inode, size, mtime, ctime)
 * spares reading a file that has not changed. One memo per executor
 * thread; nothing here is shared. */
#ifndef SL_INPUTS_H
#define SL_INPUTS_H

#include "digest.h"
#include "error.h"
#include "value.h"

#include <stdint.h>

typedef struct sl_digest_memo sl_digest_memo_t;

/* What a memo did, for tests and /metrics. */
typedef struct sl_digest_memo_stats {
    uint64_t files_read; /* files digested by reading them */
    uint64_t bytes_read; /* bytes those reads took */
    uint64_t memo_hits;  /* files whose digest the memo gave */
} sl_digest_memo_stats_t;

/* A memo of at most max_files digests (older ones are forgotten), or NULL
 * when memory runs out. */
sl_digest_memo_t *sl_digest_memo_new(size_t max_files);
void sl_digest_memo_destroy(sl_digest_memo_t **p);
const sl_digest_memo_stats_t *sl_digest_memo_stats(const sl_digest_memo_t *m);

/* The content digest of the regular file at path (symlinks followed),
 * read only if it changed since the memo last read it. A file changed
 * less than a second ago is read every time: its mtime may not tell the
 * next change. m may be NULL: read every time. 0, or an error with err
 * naming the path. */
int sl_digest_memo_file(sl_digest_memo_t *m, const char *path,
                        uint8_t digest[SL_DIGEST_BYTES], sl_error_t *err);

/* One file a task reads. */
typedef struct sl_input_file {
    char *name; /* as the task names it: relative to the workspace, or
                   absolute; owned */
    char *path; /* where it is read from (absolute); owned */
    uint8_t digest[SL_DIGEST_BYTES]; /* its content */
} sl_input_file_t;

typedef struct sl_inputs {
    sl_input_file_t *files; /* count files, in name order, no duplicates */
    size_t count;
    char **roots; /* root_count names as declared (files and
                     folders, not globs): what a program's
                     working folder links to; owned */
    size_t root_count;
} sl_inputs_t;

/* Resolves inputs (a LIST of strings, or of lists of strings) against
 * workspace (an absolute folder): a path names a file or a folder (every
 * file under it, symlinked folders inside not followed); a pattern with
 * *, ? or [ expands to what matches (maybe nothing). A path that does not
 * exist, or that is neither a file nor a folder, is an error naming it.
 * At most SL_INPUT_FILES_MAX_COUNT files. 0, or an error with *out
 * empty. */
int sl_inputs_resolve(const sl_value_t *inputs, const char *workspace,
                      sl_digest_memo_t *memo, sl_inputs_t *out,
                      sl_error_t *err);

/* Frees what in holds; safe on a zeroed one. */
void sl_inputs_fini(sl_inputs_t *in);

/* Appends [name, BYTES digest] for each file of in to files (a LIST),
 * the form the key digest takes (sl_digest_task_files). */
int sl_inputs_add_to(const sl_inputs_t *in, sl_value_t *files);

#endif
