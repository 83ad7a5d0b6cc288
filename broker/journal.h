/* broker/journal.h: the broker's journal, an append-only file of records
 * (proto JournalRecord on disk): each accepted run, each task result, each
 * run's end. Replayed at start so that a broker killed with SIGKILL resumes
 * its runs. Owned by the broker loop thread. The file's codec: its callers
 * hand it records in sluice's own types, with the parts that came off the
 * wire (a Submit, a Value, a RunResult) as the packed bytes they are. */
#ifndef SL_JOURNAL_H
#define SL_JOURNAL_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct sl_journal sl_journal_t;

typedef enum {
    SL_JOURNAL_RUN = 1,    /* a run accepted (synced before Accepted) */
    SL_JOURNAL_RESULT = 2, /* a job's result */
    SL_JOURNAL_END = 3     /* a run's end, with the result it was sent */
} sl_journal_kind_t;

/* One record (everything borrowed). */
typedef struct sl_journal_record {
    sl_journal_kind_t kind;
    const char *run_id;
    int64_t submitted_ms; /* RUN: unix time it was accepted */
    const void *data;     /* RUN: a packed Submit; RESULT: a packed Value;
                             END: a packed RunResult */
    size_t size;          /* of data */
    uint32_t node;        /* RESULT: node index in the flow */
    uint32_t index;       /* RESULT: element of a mapped node */
} sl_journal_record_t;

/* Opens (creating it and its folder) the journal at path, first compacting
 * it: records of runs that ended are dropped, but for the End records of
 * the newest keep_ended runs. NULL, with err, if it cannot be opened. */
sl_journal_t *sl_journal_open(const char *path, size_t keep_ended,
                              sl_error_t *err);

/* NULL-safe: writes what is buffered, syncs, closes; sets *p to NULL. */
void sl_journal_destroy(sl_journal_t **p);

/* Calls visit for each record, oldest first. A torn record at the end (a
 * crash in the middle of a write) ends the replay and is cut off. */
typedef void (*sl_journal_visit_fn)(const sl_journal_record_t *rec, void *ctx);
int sl_journal_replay(sl_journal_t *j, sl_journal_visit_fn visit, void *ctx,
                      sl_error_t *err);

/* Buffers a record; sl_journal_write or sl_journal_sync puts it in the
 * file. Returns 0, SL_ETOOBIG or SL_ENOMEM. */
int sl_journal_append(sl_journal_t *j, const sl_journal_record_t *rec);

/* Writes what is buffered (survives the process being killed). */
int sl_journal_write(sl_journal_t *j, sl_error_t *err);

/* Writes what is buffered and waits until it is on disk (survives the
 * machine failing). */
int sl_journal_sync(sl_journal_t *j, sl_error_t *err);

/* Compacts the journal as at open when it has grown to twice its size
 * after the last compaction (and at least 64 MiB); keeps appending to the
 * old file if that fails. */
int sl_journal_compact_if_due(sl_journal_t *j, sl_error_t *err);

/* Sets the 64 MiB floor of sl_journal_compact_if_due (tests). */
void sl_journal_set_compact_min(sl_journal_t *j, off_t bytes);

/* Bytes in the journal, written or buffered. */
off_t sl_journal_size(const sl_journal_t *j);

/* The open file, for a sync on another thread (sl_syncer_start). */
int sl_journal_fd(const sl_journal_t *j);

/* The file's path (borrowed). */
const char *sl_journal_path(const sl_journal_t *j);

#endif
