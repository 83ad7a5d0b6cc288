/* client/run_keys.h: the cache key of every task of a flow's last two
 * runs, by node and element, as `sluice run` saw them in its events. Kept
 * in the state folder (keys/<digest of the flow file's path>.json and
 * .prev.json) so that `sluice cache explain FLOW NODE` can say which part
 * of a node's key changed since the run before. Called by the CLI's main
 * thread. */
#ifndef SL_RUN_KEYS_H
#define SL_RUN_KEYS_H

#include "error.h"
#include "value.h"

#include <sluice/client.h>

#include <stdbool.h>

typedef struct sl_run_keys sl_run_keys_t;

/* Keys of a run of the flow in file; NULL when memory runs out. */
sl_run_keys_t *sl_run_keys_new(const char *file);
void sl_run_keys_destroy(sl_run_keys_t **p);

/* Notes the key of a DONE or CACHED event (others are ignored). */
void sl_run_keys_note(sl_run_keys_t *k, const sl_event_t *e);

/* Saves them as the flow's last run (that one becomes the previous).
 * Nothing is saved for a run with no key. 0, or an error naming the file. */
int sl_run_keys_save(sl_run_keys_t *k, const char *run_id, sl_error_t *err);

/* The saved keys of the flow in file: its last run's, or (is_previous)
 * the one's before, as {"run_id": ..., "nodes": {NODE: {"INDEX": KEY}}}.
 * SL_ENOTFOUND, with err, if there is none. */
int sl_run_keys_load(const char *file, bool is_previous, sl_value_t **out,
                     sl_error_t *err);

#endif
