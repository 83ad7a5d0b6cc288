/* tests/fuzz/fuzz_flow.c: libFuzzer target for the flow file parser and
 * validator: any bytes give a flow or an error, never a crash; a flow that
 * parses also survives its wire form and the broker's validation. */
#include "flow_wire.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_flow_t *flow =
        sl_flow_parse((const char *)data, size, "fuzz.yaml", NULL);
    if (!flow)
        return 0;
    Sluice__Flow *msg = NULL;
    if (sl_flow_wire_view(flow, &msg, NULL) == 0) {
        size_t packed = sluice__flow__get_packed_size(msg);
        uint8_t *bytes = malloc(packed ? packed : 1);
        sluice__flow__pack(msg, bytes);
        Sluice__Flow *in =
            (Sluice__Flow *)sl_wire_unpack(&sluice__flow__descriptor, bytes,
                                           packed);
        sl_flow_t *back = in ? sl_flow_wire_unpack(in, NULL) : NULL;
        if (!back)
            abort(); /* what the client accepts, the broker must accept */
        sl_flow_destroy(&back);
        sluice__flow__free_unpacked(in, NULL);
        free(bytes);
    }
    sl_flow_wire_free(&msg);
    sl_flow_destroy(&flow);
    return 0;
}
