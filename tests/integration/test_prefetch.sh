# tests/integration/test_prefetch.sh: the prefetch a worker earns follows
# its tasks' compute time: trivial tasks go out in large batches, but slow
# ones are not hoarded by one worker while the other idles.
source "$(dirname "$0")/lib.sh"

start_broker
start_worker w1 --slots 1
start_worker w2 --slots 1
wait_workers 2

done_by() { # done_by WORKER: results the broker took from it
    "$SLUICE" status --broker "$BROKER_EP" --json |
        jq --arg w "$1" '.workers[] | select(.id == $w) | .done'
}

# 2000 trivial tasks: right results, and both workers took part
out=$(run_json "$SLUICE_SRC/examples/wide.yaml" \
    --param "n=[$(seq -s, 1 2000)]") || fail "trivial map failed: $out"
expect_eq "$(jq -r .state <<<"$out")" done "state of the trivial map"
[ "$(done_by w1)" -gt 0 ] && [ "$(done_by w2)" -gt 0 ] ||
    fail "one worker did everything: w1 $(done_by w1), w2 $(done_by w2)"

# 12 tasks of 200 ms: split about evenly (how long the run takes is for
# sluice bench to measure, not a test)
w1_before=$(done_by w1) w2_before=$(done_by w2)
printf 'flow: slow\ntasks:\n  nap:\n    run: sleep_ms\n    map: {x: [1,2,3,4,5,6,7,8,9,10,11,12]}\n    args: [200, $x]\n    cache: none\n' \
    >"$WORK/slow.yaml"
out=$(run_json "$WORK/slow.yaml") || fail "slow map failed: $out"
w1_slow=$(($(done_by w1) - w1_before)) w2_slow=$(($(done_by w2) - w2_before))
[ "$w1_slow" -ge 5 ] && [ "$w2_slow" -ge 5 ] ||
    fail "slow tasks hoarded: w1 ran $w1_slow, w2 ran $w2_slow"
pass "trivial tasks batched, slow ones shared (w1 $w1_slow, w2 $w2_slow)"
