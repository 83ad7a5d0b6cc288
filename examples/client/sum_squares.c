/* examples/client/sum_squares.c: a client program written as a user would,
 * against <sluice/client.h> only: it builds a flow in code (square each of
 * 1..N on the workers, then sum the squares), submits it, follows its
 * events and prints the total.
 *
 *     sum_squares tcp://BROKER-HOST:5555 1000
 */
#include <sluice/client.h>

#include <stdio.h>
#include <stdlib.h>

static sl_value_t *
list_of(int n, const char *first_ref)
{
    sl_value_t *l = sl_value_new_list();
    for (int i = 0; i < n; i++) {
        sl_value_t *v = first_ref ? sl_value_new_string(first_ref)
                                  : sl_value_new_int(i + 1);
        sl_value_push(l, &v);
    }
    return l;
}

static sl_flow_t *
build_flow(int n, sl_error_t *err)
{
    sl_flow_t *flow = sl_flow_new("sum of squares, from C");
    sl_value_t *args = list_of(2, "$x"), *numbers = list_of(n, NULL);
    sl_value_t *total_args = list_of(1, "$squares");
    if (sl_flow_add(flow, "squares", "mul", &args, err) < 0 ||
        sl_flow_add_map(flow, "squares", "x", &numbers, err) < 0 ||
        sl_flow_add(flow, "total", "sum", &total_args, err) < 0)
        sl_flow_destroy(&flow);
    sl_value_destroy(&numbers);
    return flow;
}

int
main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: sum_squares BROKER-ENDPOINT N\n");
        return 2;
    }
    sl_error_t err = {0};
    sl_flow_t *flow = build_flow(atoi(argv[2]), &err);
    sl_client_t *client = flow ? sl_client_new(argv[1], &err) : NULL;
    char *run_id = NULL;
    if (!client ||
        sl_client_submit(client, flow, NULL, true, 5000, &run_id, &err) < 0) {
        fprintf(stderr, "sum_squares: %s\n", err.msg);
        sl_client_destroy(&client);
        sl_flow_destroy(&flow);
        return 1;
    }
    sl_event_t event;
    sl_value_t *result = NULL;
    unsigned done = 0;
    while (sl_client_wait(client, &event, &result, -1, &err) == 1)
        done += event.kind == SL_EVENT_DONE || event.kind == SL_EVENT_CACHED;
    const sl_value_t *nodes = sl_value_lookup(result, "nodes");
    const sl_value_t *total = sl_value_lookup(sl_value_at(nodes, 1), "value");
    const char *state =
        sl_value_get_string(sl_value_lookup(result, "state"), NULL);
    printf("run %s: %s, %u tasks done, total %lld\n", run_id,
           state ? state : "?", done, (long long)sl_value_get_int(total));
    int code = state && state[0] == 'd' ? 0 : 1;
    sl_value_destroy(&result);
    free(run_id);
    sl_client_destroy(&client);
    sl_flow_destroy(&flow);
    return code;
}
