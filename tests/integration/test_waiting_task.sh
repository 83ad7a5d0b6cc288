# tests/integration/test_waiting_task.sh: a task that no connected worker
# can run waits for one, `sluice status` shows it waiting, and a worker
# that has it, joining later, runs it.
source "$(dirname "$0")/lib.sh"

HP=$(ports 1)
start_broker --http "127.0.0.1:$HP"
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

# 1,100 task names no worker serves: status lists every queue (on fdda4fe
# it stopped at 1,024, silently), and once the run is cancelled the queues
# are freed (each task name ever submitted kept one for good)
{
    printf 'flow: many\ntasks:\n'
    for i in $(seq 1100); do printf '  n%d: {run: nobody_%d, args: [1]}\n' "$i" "$i"; done
} >"$WORK/many.yaml"
run_json "$WORK/many.yaml" >/dev/null &
runner=$!
queues() { "$SLUICE" status --broker "$BROKER_EP" --json | jq '.queues | length'; }
for _ in $(seq 100); do
    [ "$(queues)" -ge 1100 ] && break
    sleep 0.1
done
expect_eq "$(queues)" 1100 "queues in status"
id=$("$SLUICE" status --broker "$BROKER_EP" --json |
    jq -r '[.runs[] | select(.flow == "many")][0].run_id')
"$SLUICE" cancel "$id" --broker "$BROKER_EP" >/dev/null || fail "cancel"
wait "$runner" || true
held=$(curl -sf "http://127.0.0.1:$HP/metrics" |
    awk '$1 == "sluice_task_queues" { print $2 }')
expect_eq "${held%.*}" 0 "queues the broker holds once nothing waits in them"
pass "every queue is listed, and freed once empty"
