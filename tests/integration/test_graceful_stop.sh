# tests/integration/test_graceful_stop.sh: SIGTERM to a worker mid-run: it
# takes no new tasks, finishes those in hand, says goodbye; nothing is
# requeued, the run completes. A broker restarted on the same ports is
# found again by the workers, which say hello again by themselves.
source "$(dirname "$0")/lib.sh"

start_broker
start_worker w1 --slots 2
start_worker w2 --slots 2
wait_workers 2
w1_pid=${PIDS[-2]}

printf 'flow: naps\ntasks:\n  nap:\n    run: sleep_ms\n    map: {x: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]}\n    args: [250, $x]\n    cache: none\n' \
    >"$WORK/naps.yaml"
run_json "$WORK/naps.yaml" >"$WORK/out" &
runner=$!
for _ in $(seq 200); do # w1 holds some of the naps
    [ "$("$SLUICE" status --broker "$BROKER_EP" --json |
        jq '[.workers[] | select(.id == "w1") | .in_flight] | add // 0')" -gt 0 ] &&
        break
    sleep 0.05
done
kill -TERM "$w1_pid"
wait "$runner" || fail "the run failed when a worker stopped"
rc=0
wait "$w1_pid" || rc=$?
expect_eq "$rc" 0 "w1's exit code after SIGTERM"
out=$(cat "$WORK/out")
expect_eq "$(node "$out" nap "value == [range(1; 21)]")" true "all results"
grep -q "worker=w1 draining" "$WORK/broker.log" || fail "no drain seen"
grep -q "worker=w1 gone (worker stopping), 0 tasks requeued" \
    "$WORK/broker.log" || fail "w1 left tasks behind: $(grep w1 "$WORK/broker.log")"
grep -q "lost\|died" "$WORK/broker.log" && fail "something was lost or died"
pass "SIGTERM: the worker finished its tasks; nothing requeued"

# the broker dies and comes back on the same ports: w2 finds it again
broker_pid=${PIDS[0]}
kill -9 "$broker_pid"
wait "$broker_pid" 2>/dev/null || true
"$BROKER" --clients "$BROKER_EP" --workers "$WORKERS_EP" --log-level debug \
    >>"$WORK/broker2.log" 2>&1 &
PIDS[0]=$!
wait_workers 1
out=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml") ||
    fail "no run on the restarted broker"
expect_eq "$(node "$out" total value)" 385 "result on the restarted broker"
pass "a restarted broker is found again by its workers"
