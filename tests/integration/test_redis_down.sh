# tests/integration/test_redis_down.sh: with Redis stopped, a flow still
# completes, uncached, and the result says the cache failed; once Redis is
# back, caching resumes.
source "$(dirname "$0")/lib.sh"

start_redis
start_broker
start_worker w1 --cache "$REDIS_URL"
start_worker w2 --cache "$REDIS_URL"
wait_workers 2
stop_redis

out=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml") ||
    fail "run failed with Redis down: $out"
expect_eq "$(jq -r .state <<<"$out")" done "state with Redis down"
expect_eq "$(node "$out" total value)" 385 "result with Redis down"
expect_eq "$(node "$out" squares cache_errors)" 10 "cache errors reported"
node "$out" squares cache_error | grep -q "127.0.0.1:$REDIS_PORT" ||
    fail "cache error does not name the server: $(node "$out" squares cache_error)"

start_redis # same port
sleep 5.5 # past the workers' longest reconnect backoff
out=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml")
expect_eq "$(node "$out" squares cache_errors)" 0 "cache errors after restart"
expect_eq "$(rcli --scan --pattern 'sluice:v1:default:mul:*' | wc -l)" 10 \
    "entries stored after restart"

# Redis stopped in the middle of a run, then started again: the run
# completes; later runs cache again. Then Redis hung (SIGSTOP: every
# command times out): tasks still run, uncached, and caching resumes after.
printf 'flow: naps
tasks:
  nap:
    run: sleep_ms
    map: {x: $params.xs}
    args: [10, $x]
params:
  xs: []
' \
    >"$WORK/naps.yaml"
run_json "$WORK/naps.yaml" --param "xs=[$(seq -s, 1 300)]" >"$WORK/mid.out" &
runner=$!
sleep 0.3
stop_redis
sleep 0.5
start_redis
wait "$runner" || fail "the run failed when Redis went away mid-run"
out=$(cat "$WORK/mid.out")
expect_eq "$(node "$out" nap "value == [range(1; 301)]")" true "mid-run results"
[ "$(node "$out" nap cache_errors)" -gt 0 ] || fail "the outage went unseen"
sleep 5.5
out=$(run_json "$WORK/naps.yaml" --param "xs=[$(seq -s, 1001 1020)]")
expect_eq "$(node "$out" nap cache_errors)" 0 "cache errors after the restart"

kill -STOP "$REDIS_PID"
start=$(date +%s)
out=$(run_json "$WORK/naps.yaml" --param "xs=[$(seq -s, 2001 2010)]") ||
    fail "the run failed while Redis hung"
kill -CONT "$REDIS_PID"
expect_eq "$(node "$out" nap "value == [range(2001; 2011)]")" true \
    "results while Redis hung"
[ "$(node "$out" nap cache_errors)" -gt 0 ] || fail "the hang went unseen"
[ $(($(date +%s) - start)) -lt 20 ] || fail "a hung Redis stalled the run"
sleep 5.5
out=$(run_json "$WORK/naps.yaml" --param "xs=[$(seq -s, 3001 3010)]")
expect_eq "$(node "$out" nap cache_errors)" 0 "cache errors after the hang"
pass "Redis down, restarted mid-run, hung: runs complete; caching resumes"
