# tests/integration/test_two_brokers.sh: two brokers, each with its own
# worker, sharing one Redis: the same task submitted to both at once is
# computed once; the other worker waits on the lock and serves the entry.
source "$(dirname "$0")/lib.sh"

start_redis
export SLUICE_TEST_CALLS="$WORK/calls"
start_broker
BROKER_A=$BROKER_EP
start_worker a1 --tasks "$TEST_PLUGIN" --cache "$REDIS_URL"
wait_workers 1
start_broker
BROKER_B=$BROKER_EP
start_worker b1 --tasks "$TEST_PLUGIN" --cache "$REDIS_URL"
wait_workers 1

printf 'flow: shared\ntasks:\n  s: {run: slow_once, args: [d, 1500]}\n' \
    >"$WORK/shared.yaml"
"$SLUICE" run --broker "$BROKER_A" --json --quiet "$WORK/shared.yaml" \
    >"$WORK/a.out" &
a=$!
sleep 0.3
"$SLUICE" run --broker "$BROKER_B" --json --quiet "$WORK/shared.yaml" \
    >"$WORK/b.out" || fail "run on broker B failed"
wait "$a" || fail "run on broker A failed"
expect_eq "$(node "$(cat "$WORK/a.out")" s value)" '"d"' "result on A"
expect_eq "$(node "$(cat "$WORK/b.out")" s value)" '"d"' "result on B"
expect_eq "$(grep -c 'slow d' "$WORK/calls")" 1 "computations across brokers"
expect_eq "$(node "$(cat "$WORK/b.out")" s cached)" 1 "B served from the cache"
expect_eq "$(rcli --scan --pattern '*:lock' | wc -l)" 0 "locks left behind"
pass "the same task behind two brokers computed once (SET NX lock)"
