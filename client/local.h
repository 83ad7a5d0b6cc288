/* client/local.h: `sluice run --local`: a broker and workers inside this
 * process, over inproc://, the very objects sluice-broker and sluice-worker
 * run. */
#ifndef SL_LOCAL_H
#define SL_LOCAL_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_local sl_local_t;

typedef struct sl_local_options {
    uint32_t workers;           /* worker objects (default 2) */
    uint32_t slots;             /* executor threads each (default 2) */
    const char *cache_url;      /* NULL: the embedded default */
    const char *const *plugins; /* plugin_count .so paths */
    size_t plugin_count;
    const char *const *exec_rules; /* the programs the flow may run; none:
                                      any (the user runs their own flow,
                                      as make does) */
    size_t exec_rule_count;
    const char *const *http_allow; /* where http and load tasks may send;
                                      none: no http tasks */
    size_t http_allow_count;
} sl_local_options_t;

/* Starts them; NULL, with err, if one cannot start (nothing is left). */
sl_local_t *sl_local_start(const sl_local_options_t *opt, sl_error_t *err);

/* Where a client connects (borrowed). */
const char *sl_local_endpoint(const sl_local_t *l);

/* The cache URL the workers use (borrowed). */
const char *sl_local_cache_url(const sl_local_t *l);

/* Whether the workers have task name (version 0: any): with --local no
 * other worker can ever come. */
bool sl_local_serves(const sl_local_t *l, const char *name, uint32_t version);

/* Stops the workers, then the broker. NULL-safe; sets *p to NULL. */
void sl_local_stop(sl_local_t **p);

#endif
