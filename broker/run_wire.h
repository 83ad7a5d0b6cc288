/* broker/run_wire.h: a run's news as wire messages: its pending events as
 * an EventBatch, its result as a RunResult, its summary as a RunStatus.
 * The only part of the broker's run handling that knows protobuf; run.c
 * and dag.c stay free of it. Owned by the broker loop thread. */
#ifndef SL_RUN_WIRE_H
#define SL_RUN_WIRE_H

#include "run.h"

#include "proto/sluice.pb-c.h"

/* An EventBatch of run's pending events, borrowing from the run until
 * its events are sent. 0, or SL_ENOMEM (batch empty). Free the batch with
 * sl_run_wire_events_free. */
int sl_run_wire_events(const sl_run_t *run, Sluice__EventBatch *batch);
void sl_run_wire_events_free(Sluice__EventBatch *batch);

/* The run's result, borrowing from the run; NULL without memory. Free
 * with sl_run_wire_result_free. */
Sluice__RunResult *sl_run_wire_result(const sl_run_t *run);
void sl_run_wire_result_free(Sluice__RunResult **p);

/* The run's summary for status, borrowing from the run. */
void sl_run_wire_status(const sl_run_t *run, Sluice__RunStatus *out);

/* A finished run's packed RunResult (size bytes) as the Envelope frame
 * its followers and later watchers are sent; NULL without memory. */
zframe_t *sl_run_wire_result_frame(const void *result, size_t size);

/* The wire's run state for a run state. */
Sluice__RunResult__State sl_run_wire_state(sl_run_state_t state);

#endif
