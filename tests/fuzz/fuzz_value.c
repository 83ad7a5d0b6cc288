/* tests/fuzz/fuzz_value.c: libFuzzer target for the value decoder (the
 * edge for values from the network and from the cache): decoding never
 * crashes, and whatever decodes survives a round trip unchanged. */
#include "wire.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_value_t *v = NULL, *again = NULL;
    if (sl_wire_value_decode(data, size, &v, NULL) < 0)
        return 0;
    sl_buf_t b = {0};
    if (sl_wire_value_encode(v, &b, NULL) != 0 ||
        sl_wire_value_decode(b.data, b.size, &again, NULL) != 0 ||
        !sl_value_equal(v, again))
        abort(); /* a value that decodes must encode and decode the same */
    sl_buf_fini(&b);
    sl_value_destroy(&v);
    sl_value_destroy(&again);
    return 0;
}
