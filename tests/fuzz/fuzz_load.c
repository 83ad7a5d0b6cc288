/* tests/fuzz/fuzz_load.c: libFuzzer target for what `sluice load` reads
 * from outside: any bytes, read as a YAML value, give a scenario or an
 * error (and a scenario's templates fill), and give a share's figures or
 * an error when merged as a worker's report; never a crash. */
#include "flow.h"
#include "load_spec.h"
#include "load_stats.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    sl_value_t *v = NULL;
    if (sl_flow_parse_value(text, &v, NULL) == 0) {
        sl_load_spec_t spec;
        if (sl_load_spec_read(&spec, v, "fuzz.yaml", NULL) == 0) {
            for (uint64_t k = 0; k < 4; k++) {
                const sl_load_request_t *q = sl_load_pick(&spec, k);
                sl_buf_t b = {0};
                sl_load_fill(&spec, &q->url, k, 1, &b);
                if (q->body.text)
                    sl_load_fill(&spec, &q->body, k, 1, &b);
                for (size_t h = 0; h < q->header_count; h++)
                    sl_load_fill(&spec, &q->headers[h], k, 1, &b);
                sl_buf_fini(&b);
            }
            sl_load_spec_fini(&spec);
        }
        sl_load_stats_t stats;
        if (sl_load_stats_init(&stats) == 0) {
            sl_load_stats_merge_value(&stats, v, NULL);
            sl_load_stats_fini(&stats);
        }
    }
    sl_value_destroy(&v);
    free(text);
    return 0;
}
