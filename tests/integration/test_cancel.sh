# tests/integration/test_cancel.sh: `sluice cancel RUN` ends a run as
# cancelled (a state of its own, exit code 4), and the cancel reaches the
# workers: a task computing in-process sees it and stops, an isolated
# task's process group is killed (its own children too), queued tasks
# never run, and the slots come free at once. On fdda4fe the run was marked
# failed while its tasks kept running.
source "$(dirname "$0")/lib.sh"

start_broker
start_worker w1 --slots 1 --tasks "$TEST_PLUGIN"
wait_workers 1

in_flight() { # in_flight WORKER
    "$SLUICE" status --broker "$BROKER_EP" --json |
        jq --arg w "$1" '.workers[] | select(.id == $w) | .in_flight'
}

wait_in_flight() { # wait_in_flight WORKER N: until WORKER holds N tasks
    local n=""
    for _ in $(seq 200); do
        n=$(in_flight "$1")
        [ "$n" = "$2" ] && return 0
        sleep 0.05
    done
    fail "$1 holds '$n' tasks, not $2"
}

run_id_of() { # run_id_of FLOW_NAME: the newest run of that flow
    local id=""
    for _ in $(seq 100); do
        id=$("$SLUICE" status --broker "$BROKER_EP" --json |
            jq -r --arg f "$1" '[.runs[] | select(.flow == $f)][0].run_id // empty')
        [ -n "$id" ] && { echo "$id"; return 0; }
        sleep 0.05
    done
    fail "no run of flow $1 showed up"
}

# an in-process task that never ends on its own (its gate never opens),
# 20 more queued behind it, and a node after them
printf 'flow: long\ntasks:\n  wait:\n    run: gate\n    map: {x: [%s]}\n    args: [%s/never, $x]\n    cache: none\n  after: {run: echo, args: [$wait]}\n' \
    "$(seq -s, 1 20)" "$WORK" >"$WORK/long.yaml"
run_json "$WORK/long.yaml" >"$WORK/out" 2>"$WORK/err" &
runner=$!
run_id=$(run_id_of long)
wait_in_flight w1 3 # 1 computing, 2 prefetched; 17 queued at the broker
got=$("$SLUICE" cancel "$run_id" --broker "$BROKER_EP") || fail "cancel: $got"
grep -q "run $run_id: cancelled" <<<"$got" || fail "cancel said: $got"
rc=0
wait "$runner" || rc=$?
expect_eq "$rc" 4 "exit code of a cancelled run"
out=$(cat "$WORK/out")
expect_eq "$(jq -r .state <<<"$out")" cancelled "the run's state"
expect_eq "$(node "$out" wait error)" '"cancelled"' "the node's error"
expect_eq "$(node "$out" after error)" "\"upstream node 'wait' failed\"" \
    "its dependent's error"
wait_in_flight w1 0 # every task answered: the computing one stopped
wait_log "tasks cancelled by the broker" "$WORK/w1.log" \
    "the worker was not told of the cancel"
done_tasks=$("$SLUICE" status "$run_id" --broker "$BROKER_EP" --json |
    jq '.runs[0].done')
expect_eq "$done_tasks" 0 "tasks that ran to the end despite the cancel"
# its slot is free: a quick run goes through on w1 now (had the gate task
# gone on holding it, this would wait a minute)
printf 'flow: quick\ntasks:\n  e: {run: gate, args: [%s/always, 7], cache: none}\n' \
    "$WORK" >"$WORK/quick.yaml"
touch "$WORK/always"
out=$(timeout 20 "$SLUICE" run --broker "$BROKER_EP" --json --quiet \
    "$WORK/quick.yaml") || fail "a run after the cancel: $out"
expect_eq "$(node "$out" e value)" 7 "a run after the cancel"
pass "cancel stops an in-process task, drops the queued ones, frees the slot"

# an isolated task and the process it started: both killed by the cancel
# (w1 goes, so that the task runs on the isolating worker)
stop_pid "${PIDS[1]}" || fail "w1 did not stop cleanly"
unset 'PIDS[1]'
start_worker iso --slots 1 --tasks "$TEST_PLUGIN" --isolate
for _ in $(seq 100); do
    ids=$("$SLUICE" status --broker "$BROKER_EP" --json | jq -c '[.workers[].id]')
    [ "$ids" = '["iso"]' ] && break
    sleep 0.1
done
expect_eq "$ids" '["iso"]' "workers before the isolated run"
printf 'flow: iso\ntasks:\n  kid:\n    run: grandchild\n    args: [%s/kid.pid]\n    cache: none\n' \
    "$WORK" >"$WORK/iso.yaml"
run_json "$WORK/iso.yaml" >"$WORK/iso.out" &
runner=$!
for _ in $(seq 200); do [ -s "$WORK/kid.pid" ] && break; sleep 0.05; done
[ -s "$WORK/kid.pid" ] || fail "the isolated task did not start its child"
kid=$(cat "$WORK/kid.pid")
kill -0 "$kid" || fail "the grandchild is not running"
"$SLUICE" cancel "$(run_id_of iso)" --broker "$BROKER_EP" >/dev/null ||
    fail "cancel of the isolated run"
rc=0
wait "$runner" || rc=$?
expect_eq "$rc" 4 "exit code of the cancelled isolated run"
for _ in $(seq 200); do kill -0 "$kid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$kid" 2>/dev/null && fail "the isolated task's child outlived the cancel"
wait_in_flight iso 0
pass "cancel kills an isolated task's process group"

rc=0
err=$("$SLUICE" cancel nosuchrun --broker "$BROKER_EP" 2>&1) || rc=$?
expect_eq "$rc" 1 "exit code cancelling an unknown run"
grep -q "no such run" <<<"$err" || fail "$err"
out=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml") || fail "after cancel"
expect_eq "$(node "$out" total value)" 385 "a run after the cancels"
pass "an unknown run cannot be cancelled; the broker goes on"
