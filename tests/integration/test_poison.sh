# tests/integration/test_poison.sh: a task that kills every worker that
# runs it (no --isolate) is quarantined after 3 deaths and fails as
# "poison"; the other workers and the rest of the run go on.
source "$(dirname "$0")/lib.sh"

start_broker --heartbeat-ms 300
for w in w1 w2 w3 w4 w5; do
    start_worker "$w" --tasks "$TEST_PLUGIN" --slots 1 --heartbeat-ms 300
done
wait_workers 5
printf 'flow: poison\ntasks:\n  bomb: {run: crash, cache: none, retries: 5}\n  fine: {run: add, args: [2, 2]}\n' \
    >"$WORK/poison.yaml"
rc=0
out=$(run_json "$WORK/poison.yaml") || rc=$?
expect_eq "$rc" 1 "exit code"
node "$out" bomb error | grep -q "poison: 3 workers died running it" ||
    fail "bomb's error: $(node "$out" bomb error)"
expect_eq "$(node "$out" bomb deaths)" 3 "deaths counted"
expect_eq "$(node "$out" bomb errors)" 0 "no retry was spent on deaths"
expect_eq "$(node "$out" fine value)" 4 "the rest of the run"
# a result sent just before a crash can die with the process, and then the
# task that sent it takes the first blame; from then on both run alone,
# where every death is the bomb's own: at most a fourth worker goes
alive=$("$SLUICE" status --broker "$BROKER_EP" --json | jq '.workers | length')
[ "$alive" -ge 1 ] || fail "every worker died"
pass "a task that kills 3 workers fails as poison"
