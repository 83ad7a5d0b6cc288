# tests/integration/test_broker_restart.sh: kill -9 the broker in the middle
# of a run and start it again on the same ports: it resumes the run from its
# journal (results completed before the kill are not computed again), the
# workers find it by themselves, and the client that submitted the run
# re-attaches by itself and gets every result. `sluice watch` attaches to
# any run, finished ones included.
source "$(dirname "$0")/lib.sh"

start_broker
start_worker w1 --slots 2
start_worker w2 --slots 2
wait_workers 2
broker_pid=${PIDS[0]}

printf 'flow: long\ntasks:\n  nap:\n    run: sleep_ms\n    map: {x: $params.xs}\n    args: [20, $x]\n    cache: none\n  total: {run: sum, args: [$nap]}\nparams:\n  xs: []\n' \
    >"$WORK/long.yaml"
run_json "$WORK/long.yaml" --param "xs=[$(seq -s, 1 400)]" >"$WORK/out" &
runner=$!
for _ in $(seq 200); do # under way: some tasks done, most not
    [ "$("$SLUICE" status --broker "$BROKER_EP" --json |
        jq '.runs[0].done // 0')" -ge 40 ] && break
    sleep 0.05
done
kill -9 "$broker_pid"
wait "$broker_pid" 2>/dev/null || true
journal=$(ls "$SLUICE_STATE_DIR"/broker-*.journal)
[ -s "$journal" ] || fail "no journal in $SLUICE_STATE_DIR"
"$BROKER" --clients "$BROKER_EP" --workers "$WORKERS_EP" --log-level debug \
    >>"$WORK/broker2.log" 2>&1 &
PIDS[0]=$!
wait "$runner" || fail "the run failed across the broker restart"
out=$(cat "$WORK/out")
expect_eq "$(jq -r .state <<<"$out")" done "state after the restart"
expect_eq "$(node "$out" nap "value == [range(1; 401)]")" true \
    "all 400 results, right and in order"
expect_eq "$(node "$out" total value)" 80200 "sum of 1..400"
grep -q "resumed from" "$WORK/broker2.log" || fail "no run was resumed"
recovered=$(node "$out" nap cached)
[ "$recovered" -gt 0 ] || fail "results done before the kill were redone"
run_id=$(jq -r .run_id <<<"$out")

# watch attaches to the finished run and gets its result at once
got=$("$SLUICE" watch "$run_id" --broker "$BROKER_EP" --json --quiet) ||
    fail "watch failed: $got"
expect_eq "$(node "$got" total value)" 80200 "result through watch"

# SIGTERM: the broker refuses nothing in flight, syncs and exits 0
stop_pid "${PIDS[0]}" || fail "the broker did not stop cleanly on SIGTERM"
"$BROKER" --clients "$BROKER_EP" --workers "$WORKERS_EP" --log-level debug \
    >>"$WORK/broker3.log" 2>&1 &
PIDS[0]=$!
wait_workers 2
got=$("$SLUICE" watch "$run_id" --broker "$BROKER_EP" --json --quiet) ||
    fail "watch after a second restart failed"
expect_eq "$(node "$got" total value)" 80200 "result kept across restarts"
pass "broker kill -9 mid-run: resumed, $recovered results recovered, client re-attached"
