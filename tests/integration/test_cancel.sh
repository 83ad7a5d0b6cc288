# tests/integration/test_cancel.sh: `sluice cancel RUN` ends a run: the
# submitter's `sluice run` exits 1 with the unfinished nodes "cancelled",
# tasks still queued never run, and the broker goes on serving.
source "$(dirname "$0")/lib.sh"

start_broker
start_worker w1 --slots 1
wait_workers 1
printf 'flow: long\ntasks:\n  nap:\n    run: sleep_ms\n    map: {x: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]}\n    args: [200, $x]\n    cache: none\n  after: {run: echo, args: [$nap]}\n' \
    >"$WORK/long.yaml"
run_json "$WORK/long.yaml" >"$WORK/out" &
runner=$!
run_id=""
for _ in $(seq 50); do
    run_id=$("$SLUICE" status --broker "$BROKER_EP" --json |
        jq -r '.runs[0].run_id // empty')
    [ -n "$run_id" ] && break
    sleep 0.1
done
[ -n "$run_id" ] || fail "the run never showed up"
sleep 0.3
got=$("$SLUICE" cancel "$run_id" --broker "$BROKER_EP") || fail "cancel: $got"
grep -q "run $run_id: failed" <<<"$got" || fail "cancel said: $got"
rc=0
wait "$runner" || rc=$?
expect_eq "$rc" 1 "exit code of a cancelled run"
out=$(cat "$WORK/out")
expect_eq "$(node "$out" nap error)" '"cancelled"' "the node's error"
expect_eq "$(node "$out" after error)" "\"upstream node 'nap' failed\"" \
    "its dependent's error"
done_tasks=$("$SLUICE" status "$run_id" --broker "$BROKER_EP" --json |
    jq '.runs[0].done')
[ "$done_tasks" -lt 20 ] || fail "all 20 tasks ran despite the cancel"
rc=0
err=$("$SLUICE" cancel nosuchrun --broker "$BROKER_EP" 2>&1) || rc=$?
expect_eq "$rc" 1 "exit code cancelling an unknown run"
grep -q "no such run" <<<"$err" || fail "$err"
out=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml") || fail "after cancel"
expect_eq "$(node "$out" total value)" 385 "a run after the cancel"
pass "cancel ends a run; its queued tasks never run"
