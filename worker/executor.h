/* worker/executor.h: one executor thread (a CZMQ actor): runs the tasks the
 * worker hands it, with its own cache connections, and sends back packed
 * result envelopes. */
#ifndef SL_EXECUTOR_H
#define SL_EXECUTOR_H

#include "isolate.h"
#include "registry.h"

#include <czmq.h>

typedef struct sl_executor_config {
    const sl_registry_t *registry;  /* read-only while the actor lives */
    const char *worker_id;          /* for entries' producer field */
    const char *cache_url;          /* the worker's --cache; NULL: none */
    const char *fallback_url;       /* when neither worker nor flow has one */
    bool is_isolated;               /* run each task in a forked child */
    sl_isolate_limits_t limits;     /* the child's limits */
} sl_executor_config_t;

/* Messages on the actor pipe (frames):
 *   worker -> executor: "T", then one packed Task per frame
 *   executor -> worker: "R", packed Envelope(results) to forward as is,
 *                       then the task ids it answers (uint64_t, host order)
 *                       "I" when the batch is finished (idle again)
 * The strings in cfg must outlive the actor. */
zactor_t *sl_executor_new(const sl_executor_config_t *cfg);

#endif
