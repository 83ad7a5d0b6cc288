/* common/outcome_wire.c: outcome <-> Result message. Pure; any thread. */
#include "outcome_wire.h"

void
sl_outcome_from_wire(const Sluice__Result *r, sl_outcome_t *out)
{
    out->is_ok = r->status == SLUICE__RESULT__STATUS__OK;
    out->failure = out->is_ok ? SL_FAIL_NONE
                   : r->failure >= SLUICE__RESULT__FAILURE__TASK_ERROR &&
                           r->failure <= SLUICE__RESULT__FAILURE__CANCELLED
                       ? (sl_failure_t)r->failure
                       : SL_FAIL_TASK;
    out->error = r->error ? r->error : "";
    out->cache = r->cache <= SLUICE__RESULT__CACHE__TOO_LARGE
                     ? (sl_cache_outcome_t)r->cache
                     : SL_CACHE_OUTCOME_MISS;
    out->cache_error = r->cache_error ? r->cache_error : "";
    out->duration_us = r->duration_us;
    out->cache_key = r->cache_key ? r->cache_key : "";
}

void
sl_outcome_to_wire(const sl_outcome_t *o, Sluice__Result *r)
{
    r->status =
        o->is_ok ? SLUICE__RESULT__STATUS__OK : SLUICE__RESULT__STATUS__ERROR;
    r->failure = (Sluice__Result__Failure)o->failure;
    r->error = (char *)(o->error ? o->error : "");
    r->cache = (Sluice__Result__Cache)o->cache;
    r->cache_error = (char *)(o->cache_error ? o->cache_error : "");
    r->duration_us = o->duration_us;
}
