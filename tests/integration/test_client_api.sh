# tests/integration/test_client_api.sh: a C program built against
# <sluice/client.h> (examples/client/sum_squares.c) builds a flow in code,
# submits it to a real broker and follows it to the right answer.
source "$(dirname "$0")/lib.sh"

start_broker
start_worker w1
start_worker w2
wait_workers 2
out=$("$SLUICE_BIN/examples/client/sum_squares" "$BROKER_EP" 100) ||
    fail "sum_squares failed: $out"
grep -q "done, 101 tasks done, total 338350" <<<"$out" || fail "$out"
pass "a flow built in C, submitted through libsluice"
