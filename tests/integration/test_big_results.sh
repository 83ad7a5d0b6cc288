# tests/integration/test_big_results.sh: a result over the cache's value cap
# (1 MiB) is returned but not cached, and says so; one over the message cap
# (64 MiB) fails with a clear error instead of breaking the connection.
source "$(dirname "$0")/lib.sh"

start_redis
start_broker
start_worker w1 --tasks "$TEST_PLUGIN" --cache "$REDIS_URL"
wait_workers 1
printf 'flow: big\ntasks:\n  two: {run: big, args: [2]}\n  huge: {run: big, args: [70]}\n' \
    >"$WORK/big.yaml"
rc=0
out=$(run_json "$WORK/big.yaml" --events) || rc=$?
expect_eq "$rc" 1 "exit code"
result=$(tail -n 1 <<<"$out")
expect_eq "$(node "$result" two 'value | length')" 2097152 "2 MiB result"
expect_eq "$(node "$result" two cached)" 0 "not a hit"
expect_eq "$(rcli --scan --pattern 'sluice:v1:default:big:*' | wc -l)" 0 \
    "entries stored"
grep '"event":"done"' <<<"$out" | grep -q '"node":"two".*over the cache cap' ||
    fail "the event does not say the result was not cached"
node "$result" huge error | grep -q "over the message cap of 67108864" ||
    fail "huge's error: $(node "$result" huge error)"
out=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml") || fail "after big"
expect_eq "$(node "$out" total value)" 385 "the worker still serves"
pass "big results: not cached and said so; too big for a message, a clear error"
