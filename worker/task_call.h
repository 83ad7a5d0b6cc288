/* worker/task_call.h: one task call as the broker sent it, in sluice's own
 * types: what the executor's logic works on. task_wire.c makes it from a
 * Task message; nothing else here knows protobuf. */
#ifndef SL_TASK_CALL_H
#define SL_TASK_CALL_H

#include "flow.h"
#include "value.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct sl_task_call {
    uint64_t task_id;      /* the broker's id of the job */
    uint32_t attempt;      /* dispatches so far, this one included */
    const char *name;      /* the task */
    uint32_t version;      /* 0: the worker's highest */
    sl_value_t *args;      /* a LIST, owned */
    sl_value_t *inputs;    /* a LIST of the paths it reads, owned; NULL:
                              none declared */
    sl_cache_mode_t cache; /* inputs, key or none */
    const char *cache_key; /* KEY mode: the key as written ("") */
    const char *cache_namespace;
    const char *cache_url; /* the flow's choice ("": none) */
    int64_t ttl_ms;        /* > 0, or SL_TTL_FOREVER */
    bool refresh;          /* skip the lookup, overwrite */
    bool validate_inputs;  /* KEY mode: other inputs miss */
    uint64_t timeout_ms;   /* 0: none */
    void *wire;            /* the decoded message the strings borrow
                              from (task_wire.c's), owned; NULL when
                              they are the maker's */
} sl_task_call_t;

/* Frees what c holds (args, and wire); safe on a zeroed call. */
void sl_task_call_fini(sl_task_call_t *c);

#endif
