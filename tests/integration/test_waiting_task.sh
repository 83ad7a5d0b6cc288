# tests/integration/test_waiting_task.sh: a task that no connected worker
# can run waits for one, `sluice status` shows it waiting, and a worker
# that has it, joining later, runs it.
source "$(dirname "$0")/lib.sh"

start_broker
start_worker plain
wait_workers 1
printf 'flow: wait\ntasks:\n  n: {run: counted, args: [3]}\n  m: {run: add, args: [$n, 1]}\n' \
    >"$WORK/wait.yaml"
run_json "$WORK/wait.yaml" >"$WORK/out.json" &
runner=$!
for _ in $(seq 50); do
    depth=$("$SLUICE" status --broker "$BROKER_EP" --json |
        jq '[.queues[] | select(.task == "counted" and .workers == 0)
             | .depth] | add // 0')
    [ "$depth" -eq 1 ] && break
    sleep 0.1
done
expect_eq "$depth" 1 "queued tasks that no worker can run"
"$SLUICE" status --broker "$BROKER_EP" | grep -q "counted.*WAITING" ||
    fail "status does not show the task waiting"
start_worker able --tasks "$TEST_PLUGIN"
wait "$runner" || fail "the run failed once a worker came"
# no version asked: the worker runs its highest, counted@2: 3 * 2 + 1
expect_eq "$(node "$(cat "$WORK/out.json")" m value)" 7 "result after waiting"
pass "a task waits for a worker that has it"
