# tests/integration/test_two_brokers.sh: two brokers, each with its own
# worker, sharing one Redis: the same task submitted to both at once is
# computed once; the other worker waits on the lock and serves the entry.
# The task is held by a gate until both have it: no timing is assumed.
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

printf 'flow: shared\ntasks:\n  s: {run: gate, args: [%s/open, d]}\n' \
    "$WORK" >"$WORK/shared.yaml"
"$SLUICE" run --broker "$BROKER_A" --json --quiet "$WORK/shared.yaml" \
    >"$WORK/a.out" &
a=$!
wait_log "gate \"d\"" "$WORK/calls" "a1 did not start the task"
"$SLUICE" run --broker "$BROKER_B" --json --quiet "$WORK/shared.yaml" \
    >"$WORK/b.out" &
b=$!
for _ in $(seq 100); do # b1 holds it too, and waits on a1's lock
    [ "$("$SLUICE" status --broker "$BROKER_B" --json |
        jq '.workers[0].in_flight')" = 1 ] && break
    sleep 0.05
done
touch "$WORK/open"
wait "$b" || fail "run on broker B failed"
wait "$a" || fail "run on broker A failed"
expect_eq "$(node "$(cat "$WORK/a.out")" s value)" '"d"' "result on A"
expect_eq "$(node "$(cat "$WORK/b.out")" s value)" '"d"' "result on B"
expect_eq "$(grep -c 'gate "d"' "$WORK/calls")" 1 "computations across brokers"
expect_eq "$(node "$(cat "$WORK/b.out")" s cached)" 1 "B served from the cache"
expect_eq "$(rcli --scan --pattern '*:lock' | wc -l)" 0 "locks left behind"
pass "the same task behind two brokers computed once (SET NX lock)"
