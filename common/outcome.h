/* common/outcome.h: what became of one attempt at a task, in sluice's own
 * types. A worker's executor makes one per task; the broker's run takes it.
 * Only the codecs (outcome_wire.c) know the Result message; the values of
 * these enums are the wire's (docs/PROTOCOL.md), so conversion is a copy. */
#ifndef SL_OUTCOME_H
#define SL_OUTCOME_H

#include <sluice/client.h>

#include <stdbool.h>
#include <stdint.h>

/* What the cache did for the attempt: sl_cache_outcome_t, as the public
 * client API reports it (<sluice/client.h>). */
/* Why an attempt failed. */
typedef enum {
    SL_FAIL_NONE = 0,     /* it did not */
    SL_FAIL_TASK = 1,     /* the task's code reported failure */
    SL_FAIL_TIMEOUT = 2,  /* it ran past its timeout and was killed */
    SL_FAIL_CRASH = 3,    /* its process died (--isolate) */
    SL_FAIL_CANCELLED = 4 /* its run was cancelled: stopped, not failed */
} sl_failure_t;

/* One attempt's outcome; strings are borrowed. */
typedef struct sl_outcome {
    bool is_ok;               /* a value came back */
    sl_failure_t failure;     /* when not ok: why */
    const char *error;        /* when not ok: in words ("" if none) */
    sl_cache_outcome_t cache; /* what the cache did */
    const char *cache_error;  /* SL_CACHE_OUTCOME_ERROR, TOO_LARGE: why ("") */
    uint64_t duration_us;     /* compute time; 0 on a hit */
    const char *cache_key;    /* the key its result is under ("": none);
                                 read from the wire, a worker sends it
                                 apart (task_wire.c) */
} sl_outcome_t;

#endif
