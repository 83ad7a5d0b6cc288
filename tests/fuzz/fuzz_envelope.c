/* tests/fuzz/fuzz_envelope.c: libFuzzer target for what a broker or worker
 * does with a frame from the network: decode the envelope, then the values
 * and the flow it may carry. Must never crash, leak or trip UB. */
#include "envelope.h"
#include "flow_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
take_value(const Sluice__Value *msg)
{
    sl_value_t *v = NULL;
    if (sl_wire_value_unpack(msg, &v, NULL) == 0)
        sl_value_destroy(&v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Sluice__Envelope *env = sl_envelope_decode(data, size, NULL);
    if (!env)
        return 0;
    switch (env->body_case) {
    case SLUICE__ENVELOPE__BODY_SUBMIT:
        if (env->submit->flow) {
            sl_flow_t *flow = sl_flow_wire_unpack(env->submit->flow, NULL);
            sl_flow_destroy(&flow);
        }
        for (size_t i = 0; i < env->submit->n_params; i++)
            take_value(env->submit->params[i]->value);
        break;
    case SLUICE__ENVELOPE__BODY_TASKS:
        for (size_t i = 0; i < env->tasks->n_tasks; i++)
            take_value(env->tasks->tasks[i]->args);
        break;
    case SLUICE__ENVELOPE__BODY_RESULTS:
        for (size_t i = 0; i < env->results->n_results; i++)
            take_value(env->results->results[i]->value);
        break;
    case SLUICE__ENVELOPE__BODY_RUN_RESULT:
        for (size_t i = 0; i < env->run_result->n_nodes; i++)
            take_value(env->run_result->nodes[i]->value);
        break;
    default: break;
    }
    sl_envelope_free(&env);
    return 0;
}
