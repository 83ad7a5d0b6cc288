/* common/caps.h: every bound on input from a network or a file, in one
 * place, with its documented default (docs/PROTOCOL.md, "Limits"). */
#ifndef SL_CAPS_H
#define SL_CAPS_H

/* A value nests at most this deep (a scalar is depth 1). */
#define SL_VALUE_MAX_DEPTH 64
/* A value has at most this many nodes. */
#define SL_VALUE_MAX_NODES (1u << 20)
/* One message (one ZeroMQ frame) is at most this many bytes. */
#define SL_MSG_MAX_BYTES (64u << 20)
/* A result larger than this, encoded, is returned but not cached. */
#define SL_CACHE_VALUE_MAX_BYTES (1u << 20)
/* A stored entry larger than this is never read (a miss): the value cap
 * plus room for a signature. */
#define SL_CACHE_READ_MAX_BYTES (SL_CACHE_VALUE_MAX_BYTES + 4096u)
/* A flow file is at most this many bytes. */
#define SL_FLOW_MAX_BYTES (4u << 20)
/* A flow has at most this many nodes. */
#define SL_FLOW_MAX_NODES 10000
/* A mapped node expands to at most this many tasks. */
#define SL_MAP_MAX_WIDTH 1000000
/* Names (flows, nodes, tasks, params) are at most this many bytes. */
#define SL_NAME_MAX_BYTES 128
/* A cache key is at most this many bytes (LMDB takes up to 511). */
#define SL_KEY_MAX_BYTES 500
/* A node declares at most this many inputs (paths, folders, globs)... */
#define SL_INPUTS_MAX_COUNT 1000
/* ...which expand, on the worker, to at most this many files. */
#define SL_INPUT_FILES_MAX_COUNT 100000
/* A worker gives at most this many --exec rules. */
#define SL_EXEC_RULES_MAX_COUNT 256
/* A program node declares at most this many outputs... */
#define SL_OUTPUTS_MAX_COUNT 1000
/* ...whose files are at most this many, each stored in the cache up to
 * SL_BLOB_INLINE_MAX_BYTES and beyond it in the worker's --blob-dir. */
#define SL_OUTPUT_FILES_MAX_COUNT 10000
#define SL_BLOB_INLINE_MAX_BYTES  (1u << 20)
/* A program's argument vector has at most this many elements. */
#define SL_ARGV_MAX_COUNT 4096
/* A program task's standard output is at most this many bytes by default
 * (its result); a worker's --max-stdout changes it. */
#define SL_STDOUT_MAX_BYTES (16u << 20)
/* The tail of a failed program's standard error kept in its error... */
#define SL_STDERR_TAIL_BYTES 2048
/* ...and of its standard output and error kept for `sluice logs`... */
#define SL_LOG_TAIL_BYTES (64u << 10)
/* ...up to this much for all the failed attempts of one run. */
#define SL_RUN_LOGS_MAX_BYTES (16u << 20)

#endif
