/* tests/integration/flow_wire.c: prints, in hex, the Flow message `sluice
 * run` submits for a flow file (sl_flow_load, then sl_flow_wire_view), or
 * "error: MESSAGE" and exit 1 if the file is refused. Usage: flow_wire
 * FILE. tests/python/test_flowfile.py compares Python's reading with it. */
#include "flow_wire.h"

#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
    sl_error_t err = {0};
    Sluice__Flow *msg = NULL;
    if (argc != 2) {
        fprintf(stderr, "usage: flow_wire FILE\n");
        return 2;
    }
    sl_flow_t *flow = sl_flow_load(argv[1], &err);
    if (!flow || sl_flow_wire_view(flow, &msg, &err) < 0) {
        printf("error: %s\n", err.msg);
        sl_flow_destroy(&flow);
        return 1;
    }
    size_t size = sluice__flow__get_packed_size(msg);
    uint8_t *data = malloc(size + 1);
    if (!data)
        return 1;
    sluice__flow__pack(msg, data);
    for (size_t i = 0; i < size; i++)
        printf("%02x", data[i]);
    printf("\n");
    free(data);
    sl_flow_wire_free(&msg);
    sl_flow_destroy(&flow);
    return 0;
}
