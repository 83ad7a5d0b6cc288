# tests/integration/test_coalesce.sh: identical tasks in flight are computed
# once: duplicates inside one map, and the same task in two runs at once,
# even when the worker computing it dies and another takes over.
source "$(dirname "$0")/lib.sh"

start_broker --heartbeat-ms 300
export SLUICE_TEST_CALLS="$WORK/calls"
start_worker w1 --tasks "$TEST_PLUGIN" --slots 1 --heartbeat-ms 300
start_worker w2 --tasks "$TEST_PLUGIN" --slots 1 --heartbeat-ms 300
wait_workers 2
declare -A pid_of=([w1]=${PIDS[-2]} [w2]=${PIDS[-1]})

printf 'flow: dups\ntasks:\n  n:\n    run: counted@1\n    map: {x: [5, 6, 5, 5, 6]}\n    args: [$x]\n' \
    >"$WORK/dups.yaml"
out=$(run_json "$WORK/dups.yaml") || fail "dups failed"
expect_eq "$(node "$out" n value)" "[5,6,5,5,6]" "results of duplicates"
expect_eq "$(grep -c counted@1 "$WORK/calls")" 2 "computations for 2 inputs"
expect_eq "$(node "$out" n cached)" 3 "duplicates served by their twin"

# the same task in two runs at once (held by a gate until both are in),
# and its worker killed mid-way
printf 'flow: slow\ntasks:\n  s: {run: gate, args: [%s/open, c], retries: 0}\n' \
    "$WORK" >"$WORK/slow.yaml"
run_json "$WORK/slow.yaml" >"$WORK/a.out" &
a=$!
wait_log 'gate "c"' "$WORK/calls" "the task did not start"
run_json "$WORK/slow.yaml" >"$WORK/b.out" &
b=$!
for _ in $(seq 100); do # the second run is in, its task following
    [ "$("$SLUICE" status --broker "$BROKER_EP" --json |
        jq '[.runs[] | select(.flow == "slow")] | length')" = 2 ] && break
    sleep 0.05
done
busy=$("$SLUICE" status --broker "$BROKER_EP" --json |
    jq -r '.workers[] | select(.in_flight > 0) | .id')
expect_eq "$(wc -w <<<"$busy")" 1 "workers computing the one task"
kill -9 "${pid_of[$busy]}"
touch "$WORK/open"
wait "$a" || fail "run a failed"
wait "$b" || fail "run b failed"
expect_eq "$(node "$(cat "$WORK/a.out")" s value)" '"c"' "run a's result"
expect_eq "$(node "$(cat "$WORK/b.out")" s value)" '"c"' "run b's result"
expect_eq "$(grep -c 'gate "c"' "$WORK/calls")" 2 \
    "computations: the killed one and its retry, not one per run"
pass "identical tasks in flight computed once, across runs and a worker death"
