/* client/cli_cache.h: what `sluice cache` shares between its files:
 * cli_cache.c (the command: get, del KEY, stats, ls) and cli_cache_del.c
 * (del by filter). */
#ifndef SL_CLI_CACHE_H
#define SL_CLI_CACHE_H

#include "cli.h"

#include "cache.h"

#include <stdbool.h>
#include <stdint.h>

/* Which entries `del` removes: those that pass every filter given. */
typedef struct sl_cache_del_filter {
    const char *ns;     /* only this namespace; NULL: all */
    char *const *tasks; /* entries of these tasks (task_count 0:
                           any task) */
    size_t task_count;
    uint32_t version;  /* with tasks: only this version; 0: any */
    char *const *keys; /* these exact keys too (a flow's
                          explicit cache_keys) */
    size_t key_count;
    int64_t older_than_ms; /* created longer ago than this; 0: any */
    bool is_dry_run;       /* print the keys, delete nothing */
} sl_cache_del_filter_t;

typedef struct sl_cache_del_report {
    size_t count; /* entries deleted (or, dry run, that would be) */
} sl_cache_del_report_t;

/* Deletes (or with is_dry_run prints, one per line) the entries f picks.
 * 0, or SL_ECACHE with err: what was deleted before the failure is gone,
 * and out->count says how many. */
int sl_cache_del_filtered(sl_cache_t *cache, const sl_cache_del_filter_t *f,
                          sl_cache_del_report_t *out, sl_error_t *err);

/* What a flow file's entries are: its namespace, the tasks its nodes
 * call, and its explicit cache_keys, owned. */
typedef struct sl_cache_del_flow {
    char *ns;
    char **tasks;
    size_t task_count;
    char **keys;
    size_t key_count;
} sl_cache_del_flow_t;

/* Reads file into *out (zeroed by the caller); SL_EINVAL with err naming
 * the file's error. */
int sl_cache_del_flow(const char *file, sl_cache_del_flow_t *out,
                      sl_error_t *err);
void sl_cache_del_flow_fini(sl_cache_del_flow_t *f);

/* `cache explain`: KEY (against OTHER, if not NULL); or, with flow_file,
 * node a ("NODE" or "NODE[INDEX]") in its last recorded run against the
 * run before. Prints; returns the exit code. */
int sl_cache_explain(sl_cache_t *cache, const char *flow_file, const char *a,
                     const char *b);

/* `cache gc`: removes the blobs of blob_dir that no entry names and that
 * are older than grace_ms (or, is_dry_run, lists them). Returns the exit
 * code; a cache that cannot be read fully removes nothing. */
int sl_cache_gc(sl_cache_t *cache, const char *blob_dir, int64_t grace_ms,
                bool is_dry_run);

#endif
