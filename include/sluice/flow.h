/* include/sluice/flow.h: flows: a named DAG of task calls. Load one from a
 * YAML (or JSON) file, or build one in code; the broker validates it again
 * on submit. Args are values in which a string "$name" refers to another
 * node's result (a list of results if that node is mapped) or to a map
 * variable, "$params.NAME" to a parameter, and "$$..." is a literal "$...". */
#ifndef SL_FLOW_PUBLIC_H
#define SL_FLOW_PUBLIC_H

#include <sluice/error.h>
#include <sluice/value.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_flow sl_flow_t;

typedef enum {
    SL_CACHE_INPUTS = 0, /* key = digest of task, version and args */
    SL_CACHE_KEY = 1,    /* key = cache_key, as given */
    SL_CACHE_NONE = 2    /* no lookup, no store */
} sl_cache_mode_t;

/* Per-node settings; sl_node_options_default() gives the defaults. */
typedef struct sl_node_options {
    sl_cache_mode_t cache;   /* how the result is cached */
    const char *cache_key;   /* SL_CACHE_KEY: the key (copied) */
    int64_t ttl_ms;          /* >0, -1 forever, 0: the flow's TTL */
    bool refresh;            /* skip the lookup, overwrite the entry */
    bool validate_inputs;    /* KEY mode: a different input digest misses */
    uint32_t retries;        /* further attempts after a failure */
    uint64_t retry_delay_ms; /* first delay between attempts */
    uint64_t timeout_ms;     /* 0: none */
    int32_t priority;        /* higher runs first */
} sl_node_options_t;

sl_node_options_t sl_node_options_default(void);

/* A new, empty flow, or NULL when memory runs out. */
sl_flow_t *sl_flow_new(const char *name);

/* Reads and validates a flow file. NULL, with err naming file, line and
 * column, if the file cannot be read, parsed or validated. */
sl_flow_t *sl_flow_load(const char *path, sl_error_t *err);

/* The same for text in memory; file names it in errors. */
sl_flow_t *sl_flow_parse(const char *text, size_t size, const char *file,
                         sl_error_t *err);

/* NULL-safe; sets *p to NULL. */
void sl_flow_destroy(sl_flow_t **p);

/* Adds node name calling task ("name" or "name@version") with *args (a
 * list; consumed, even on error). Returns 0, SL_EEXIST, SL_EINVAL or
 * SL_ENOMEM. */
int sl_flow_add(sl_flow_t *flow, const char *name, const char *task,
                sl_value_t **args, sl_error_t *err);

/* Maps node over *source (a list, or "$node" / "$params.NAME"), bound to
 * $var in its args. Several vars are zipped. *source is consumed. */
int sl_flow_add_map(sl_flow_t *flow, const char *node, const char *var,
                    sl_value_t **source, sl_error_t *err);

/* Declares what node reads: *inputs (consumed, even on error) is a list of
 * paths, folders and globs, or references to strings or lists of them.
 * The worker digests their content into the task's cache key
 * (docs/CACHING.md), so a changed file is a miss. Replaces any earlier
 * inputs. */
int sl_flow_set_inputs(sl_flow_t *flow, const char *node, sl_value_t **inputs,
                       sl_error_t *err);

/* Sets a node's options (strings are copied). */
int sl_flow_set_options(sl_flow_t *flow, const char *node,
                        const sl_node_options_t *opt, sl_error_t *err);

/* Declares parameter name with its default (*value, consumed). */
int sl_flow_set_param(sl_flow_t *flow, const char *name, sl_value_t **value,
                      sl_error_t *err);

/* The flow's cache: url (NULL: the workers'), namespace (NULL: "default"),
 * default TTL (>0 or -1 forever). */
int sl_flow_set_cache(sl_flow_t *flow, const char *url, const char *ns,
                      int64_t ttl_ms, sl_error_t *err);

/* Checks names, references, cycles, maps and options. */
int sl_flow_validate(const sl_flow_t *flow, sl_error_t *err);

const char *sl_flow_name(const sl_flow_t *flow);

#ifdef __cplusplus
}
#endif

#endif
