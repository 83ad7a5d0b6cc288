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
pass "Redis down: completes uncached and says so; caching resumes"
