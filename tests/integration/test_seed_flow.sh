# tests/integration/test_seed_flow.sh: the seed flow across a real broker,
# two worker processes and redis-server: the first run computes once, the
# second is all cache hits, the task is not called again, results equal.
source "$(dirname "$0")/lib.sh"

start_redis
start_broker
export SLUICE_EXAMPLE_CALLS="$WORK/calls"
start_worker w1 --tasks "$EXAMPLE_PLUGIN" --cache "$REDIS_URL" --slots 2
start_worker w2 --tasks "$EXAMPLE_PLUGIN" --cache "$REDIS_URL" --slots 2
wait_workers 2

first=$(run_json "$SLUICE_SRC/examples/seed.yaml") || fail "first run failed"
expect_eq "$(jq -r .state <<<"$first")" done "first run state"
expect_eq "$(node "$first" add value)" 15 "add_numbers(5, 10)"
expect_eq "$(node "$first" add cached)" 0 "first run cache hits"
expect_eq "$(calls "$WORK/calls")" 1 "calls after the first run"

entry=$(rcli --no-raw strlen sluice:v1:default:add_numbers)
[ "${entry//[!0-9]/}" -gt 0 ] || fail "no entry under the explicit key"
ttl=$(rcli ttl sluice:v1:default:add_numbers)
[ "$ttl" -gt 3500 ] && [ "$ttl" -le 3600 ] || fail "TTL is $ttl, not ~1h"

second=$(run_json "$SLUICE_SRC/examples/seed.yaml") || fail "second run failed"
expect_eq "$(node "$second" add cached)" 1 "second run cache hits"
expect_eq "$(calls "$WORK/calls")" 1 "calls after the second run"
expect_eq "$(node "$second" add value)" "$(node "$first" add value)" \
    "results of the two runs"

# the cache commands see the same entry
got=$("$SLUICE" cache get sluice:v1:default:add_numbers --cache "$REDIS_URL" \
    --json)
expect_eq "$(jq -r .value <<<"$got")" 15 "sluice cache get"
expect_eq "$(jq -r .task <<<"$got")" add_numbers "entry task"

# deleting the entry makes the next run compute again
"$SLUICE" cache del sluice:v1:default:add_numbers --cache "$REDIS_URL" ||
    fail "cache del failed"
third=$(run_json "$SLUICE_SRC/examples/seed.yaml") || fail "third run failed"
expect_eq "$(node "$third" add cached)" 0 "run after cache del"
expect_eq "$(calls "$WORK/calls")" 2 "calls after cache del"
rc=0
err=$("$SLUICE" cache del nosuch --cache "$REDIS_URL" 2>&1) || rc=$?
expect_eq "$rc" 1 "exit code deleting a missing key"
grep -q "no entry 'nosuch'" <<<"$err" || fail "cache del message: $err"
pass "seed flow: computed once, then served from Redis"
