/* broker/runbook.h: every run the broker knows, by id and by the sequence
 * number in its task ids; finished runs kept for status and watchers; and
 * the journal that lets a restarted broker resume them. Owned by the broker
 * loop thread. */
#ifndef SL_RUNBOOK_H
#define SL_RUNBOOK_H

#include "run.h"
#include "scheduler.h"
#include "submission.h"

typedef struct sl_runbook sl_runbook_t;

/* journal_path NULL: runs live in memory only. keep_finished: finished
 * runs kept (and their results, for watchers). NULL, with err, if the
 * journal cannot be opened. */
sl_runbook_t *sl_runbook_new(const char *journal_path, uint32_t keep_finished,
                             sl_error_t *err);
void sl_runbook_destroy(sl_runbook_t **p);

/* Replays the journal: every run that had not ended is rebuilt, its
 * journalled results recovered, and started (only what is left is
 * dispatched). Returns how many runs resumed. */
size_t sl_runbook_resume(sl_runbook_t *rb, sl_sched_t *sched);

/* Registers a submitted run for client (*sub is consumed either way) and
 * writes packed (the Submit as received, size bytes) to the journal;
 * Accepted may be sent once the journal is synced (after sl_runbook_sync,
 * or a sync of sl_runbook_journal_fd on another thread). NULL, with err
 * saying why (the submit is rejected), if memory runs out or the journal
 * cannot be written. */
sl_run_t *sl_runbook_submit(sl_runbook_t *rb, sl_submission_t *sub,
                            const void *packed, size_t size, zframe_t *client,
                            sl_error_t *err);

sl_run_t *sl_runbook_find(sl_runbook_t *rb, const char *run_id);

/* The job a task id names, or NULL. */
sl_job_t *sl_runbook_job(sl_runbook_t *rb, uint64_t task_id);

/* Journals the successful result of job (before it is given to the run):
 * value is the packed Value, size bytes. */
void sl_runbook_result(sl_runbook_t *rb, const sl_job_t *job, const void *value,
                       size_t size);

/* The run finished with result (a packed RunResult, size bytes):
 * journals the end, keeps the result for watchers, frees what only it
 * needed, and forgets the oldest finished runs beyond the limit. Returns
 * the packed Envelope kept (borrowed, as sl_runbook_result_of), for its
 * followers; NULL without memory. */
zframe_t *sl_runbook_finished(sl_runbook_t *rb, sl_run_t *run,
                              const void *result, size_t size);

/* A finished run's packed RunResult (borrowed), or NULL. */
zframe_t *sl_runbook_result_of(sl_runbook_t *rb, const char *run_id);

/* Runs, for status. */
sl_run_t *sl_runbook_first(sl_runbook_t *rb);
sl_run_t *sl_runbook_next(sl_runbook_t *rb);
size_t sl_runbook_count(const sl_runbook_t *rb);

/* End of a loop step: journal records go to the file. Every heartbeat:
 * they go to the disk. */
void sl_runbook_write(sl_runbook_t *rb);
void sl_runbook_sync(sl_runbook_t *rb);

/* The journal's open file, or -1 without a journal. */
int sl_runbook_journal_fd(const sl_runbook_t *rb);

#endif
