# tests/integration/test_map_reduce.sh: a map over 1000 elements, reduced
# by sum, across two worker processes, gives the right total.
source "$(dirname "$0")/lib.sh"

start_redis
start_broker
start_worker w1 --cache "$REDIS_URL" --slots 4
start_worker w2 --cache "$REDIS_URL" --slots 4
wait_workers 2

numbers="[$(seq -s, 1 1000)]"
out=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml" \
    --param "numbers=$numbers") || fail "run failed"
expect_eq "$(jq -r .state <<<"$out")" done "run state"
expect_eq "$(node "$out" squares tasks)" 1000 "mapped tasks"
expect_eq "$(node "$out" squares 'value | length')" 1000 "mapped results"
expect_eq "$(node "$out" squares 'value[999]')" 1000000 "last square"
expect_eq "$(node "$out" total value)" 333833500 "sum of squares 1..1000"
# both workers computed some of them: entries name their producer
keys=$(rcli --scan --pattern 'sluice:v1:default:mul:*')
expect_eq "$(wc -l <<<"$keys")" 1000 "entries in Redis"
producers=$(head -n 200 <<<"$keys" | while read -r key; do
    rcli get "$key" | tr -d '\0'
done)
for w in w1 w2; do
    grep -aq "$w" <<<"$producers" || fail "worker $w computed nothing"
done
pass "map of 1000 reduced by sum"

# a map over a result that is not a list fails its node before it runs,
# says why, and leaves nothing running: on fdda4fe the node stayed
# "running" inside a failed run, and cancelling a run that still had a
# long task hung it for ever
printf 'flow: notalist\ntasks:\n  a: {run: add, args: [1, 2]}\n  b: {run: mul, map: {x: $a}, args: [$x, $x]}\n' \
    >"$WORK/notalist.yaml"
rc=0
out=$(run_json "$WORK/notalist.yaml") || rc=$?
expect_eq "$rc" 1 "exit code of a map over a number"
expect_eq "$(jq -r .state <<<"$out")" failed "state of a map over a number"
expect_eq "$(node "$out" b state)" '"failed"' "the mapped node's state"
expect_eq "$(node "$out" b error)" '"map variable '"'"'x'"'"' is an int, not a list"' \
    "the mapped node's error"
printf 'flow: notalist2\ntasks:\n  a: {run: add, args: [1, 2]}\n  b: {run: mul, map: {x: $a}, args: [$x, $x]}\n  d: {run: sleep_ms, args: [20000, 1], cache: none}\n' \
    >"$WORK/notalist2.yaml"
run_json "$WORK/notalist2.yaml" >"$WORK/out2" &
runner=$!
id=""
for _ in $(seq 100); do
    id=$("$SLUICE" status --broker "$BROKER_EP" --json | jq -r \
        '[.runs[] | select(.flow == "notalist2" and .state == "running")][0].run_id // empty')
    [ -n "$id" ] && [ "$("$SLUICE" status "$id" --broker "$BROKER_EP" --json |
        jq '.runs[0].failed')" = 0 ] && break
    sleep 0.05
done
[ -n "$id" ] || fail "the run with a long task did not show up"
"$SLUICE" cancel "$id" --broker "$BROKER_EP" >/dev/null || fail "cancel"
rc=0
timeout 20 tail --pid="$runner" -f /dev/null || fail "the cancelled run hung"
wait "$runner" || rc=$?
expect_eq "$rc" 4 "exit code of the cancelled run"
expect_eq "$(jq -r .state <"$WORK/out2")" cancelled "state after the cancel"
pass "a map over a number fails its node; a cancel after it ends the run"
