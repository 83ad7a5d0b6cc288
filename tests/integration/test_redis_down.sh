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

# until_cached NODE FLOW [run options]: runs FLOW until NODE has no cache
# error (each worker's reconnect backoff, up to 5 s, is over): waits on
# what the runs say, not for a fixed time
until_cached() {
    local node=$1 errors=""
    shift
    for _ in $(seq 200); do
        out=$(run_json "$@") || fail "a run failed while Redis came back: $out"
        errors=$(node "$out" "$node" cache_errors)
        [ "$errors" = 0 ] && return 0
        sleep 0.1
    done
    fail "cache errors go on after Redis came back: $errors"
}

start_redis # same port
until_cached squares "$SLUICE_SRC/examples/mapreduce.yaml"
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
run_done() { # tasks done in the newest run
    "$SLUICE" status --broker "$BROKER_EP" --json | jq '.runs[0].done // 0'
}
wait_done() { # wait_done N: until the newest run has N tasks done
    for _ in $(seq 300); do
        [ "$(run_done)" -ge "$1" ] && return 0
        sleep 0.05
    done
    fail "the run did not get to $1 tasks done (at $(run_done))"
}
run_json "$WORK/naps.yaml" --param "xs=[$(seq -s, 1 300)]" >"$WORK/mid.out" &
runner=$!
wait_done 20 # under way, with Redis
stop_redis
wait_done $(($(run_done) + 20)) # going on without it
start_redis
wait "$runner" || fail "the run failed when Redis went away mid-run"
out=$(cat "$WORK/mid.out")
expect_eq "$(node "$out" nap "value == [range(1; 301)]")" true "mid-run results"
# seen in the run's lookups during the outage, or (a store sent after its
# answer, docs/CACHING.md) in the workers' logs
[ "$(node "$out" nap cache_errors)" -gt 0 ] ||
    grep -q "not stored or unlocked, after the answers went" "$WORK"/w*.log ||
    fail "the outage went unseen"
until_cached nap "$WORK/naps.yaml" --param "xs=[$(seq -s, 1001 1020)]"

kill -STOP "$REDIS_PID"
start=$(date +%s)
out=$(run_json "$WORK/naps.yaml" --param "xs=[$(seq -s, 2001 2010)]") ||
    fail "the run failed while Redis hung"
kill -CONT "$REDIS_PID"
expect_eq "$(node "$out" nap "value == [range(2001; 2011)]")" true \
    "results while Redis hung"
[ "$(node "$out" nap cache_errors)" -gt 0 ] || fail "the hang went unseen"
[ $(($(date +%s) - start)) -lt 20 ] || fail "a hung Redis stalled the run"
until_cached nap "$WORK/naps.yaml" --param "xs=[$(seq -s, 3001 3010)]"
pass "Redis down, restarted mid-run, hung: runs complete; caching resumes"
