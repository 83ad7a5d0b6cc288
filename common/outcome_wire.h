/* common/outcome_wire.h: an attempt's outcome (outcome.h) to and from its
 * Result message. The only place that maps one onto the other. */
#ifndef SL_OUTCOME_WIRE_H
#define SL_OUTCOME_WIRE_H

#include "outcome.h"

#include "proto/sluice.pb-c.h"

/* The outcome r reports (borrowing r's strings). An enum value this
 * version does not know is taken as the nearest safe one: a cache outcome
 * as MISS, a failure as TASK. */
void sl_outcome_from_wire(const Sluice__Result *r, sl_outcome_t *out);

/* Fills r's status, error, failure, cache, cache error and duration from
 * o (borrowing o's strings); ids, value and key are the caller's. */
void sl_outcome_to_wire(const sl_outcome_t *o, Sluice__Result *r);

#endif
