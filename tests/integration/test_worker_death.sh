# tests/integration/test_worker_death.sh: kill -9 a worker in the middle of
# a 2000-task flow: the run completes and every result is present and
# right. Then SIGSTOP a worker (a hang): its tasks move to another worker
# within the liveness window, and its late results after SIGCONT are not
# counted twice.
source "$(dirname "$0")/lib.sh"

start_broker --heartbeat-ms 300 --liveness 3
start_worker w1 --slots 2 --heartbeat-ms 300
start_worker w2 --slots 2 --heartbeat-ms 300
start_worker w3 --slots 2 --heartbeat-ms 300
wait_workers 3
w1_pid=${PIDS[-3]}
w2_pid=${PIDS[-2]}

# every element sleeps 5 ms and returns its own number: 2000 / 6 slots
printf 'flow: many\ntasks:\n  nap:\n    run: sleep_ms\n    map: {x: $params.xs}\n    args: [5, $x]\n    cache: none\nparams:\n  xs: []\n' \
    >"$WORK/many.yaml"
xs="[$(seq -s, 1 2000)]"
check_all() { # check_all FILE: the run is done with 1..2000 in order
    local out
    out=$(tail -n 1 "$1")
    expect_eq "$(jq -r .state <<<"$out")" done "run state"
    expect_eq "$(node "$out" nap "value == [range(1; 2001)]")" true \
        "all 2000 results, right and in order"
    expect_eq "$(node "$out" nap tasks)" 2000 "tasks in the node"
}

run_json "$WORK/many.yaml" --param "xs=$xs" >"$WORK/kill.out" &
runner=$!
sleep 0.6
kill -9 "$w1_pid"
wait "$runner" || fail "the run failed after kill -9 of a worker"
check_all "$WORK/kill.out"
grep -q "worker=w1 gone" "$WORK/broker.log" || fail "w1's death went unseen"
pass "kill -9 of a worker mid-run: every result present and right"

run_json "$WORK/many.yaml" --param "xs=$xs" >"$WORK/stop.out" &
runner=$!
sleep 0.6
kill -STOP "$w2_pid"
start=$(date +%s%N)
for _ in $(seq 100); do
    grep -q "worker=w2 gone (missed its heartbeats)" "$WORK/broker.log" && break
    sleep 0.05
done
moved_ms=$((($(date +%s%N) - start) / 1000000))
grep -q "worker=w2 gone (missed its heartbeats)" "$WORK/broker.log" ||
    fail "w2's hang went unseen"
[ "$moved_ms" -le 2000 ] || fail "w2's tasks moved after $moved_ms ms"
# back from its hang while the run goes on, w2 is a stranger until it says
# hello again: the results it still sends for the old attempts are refused,
# never counted, and the tasks they were for were given to others
kill -CONT "$w2_pid"
wait "$runner" || fail "the run failed while a worker hung"
check_all "$WORK/stop.out"
grep -Eq "worker=w2 (unknown: its results refused|task=[0-9a-f]+ attempt=[0-9]+ result dropped)" \
    "$WORK/broker.log" || fail "w2's late results were not refused"
for _ in $(seq 50); do
    n=$("$SLUICE" status --broker "$BROKER_EP" --json | jq '.workers | length')
    [ "$n" -eq 2 ] && break
    sleep 0.1
done
expect_eq "$n" 2 "workers once w2 is back"
pass "SIGSTOP: tasks moved in ${moved_ms} ms; no duplicates after SIGCONT"
