# tests/integration/test_retries.sh: a task that fails twice then succeeds
# with retries: 3 succeeds on its third attempt after backoff; one that
# always fails fails the nodes that depend on it and not its siblings, and
# the run ends failed with a per-node report.
source "$(dirname "$0")/lib.sh"

start_broker
export SLUICE_TEST_CALLS="$WORK/calls"
start_worker w1 --tasks "$TEST_PLUGIN"
start_worker w2 --tasks "$TEST_PLUGIN"
wait_workers 2

cat >"$WORK/flaky.yaml" <<'YAML'
flow: flaky
tasks:
  shaky:
    run: flaky
    args: [a, 2]
    retries: 3
    retry_delay: 100ms
    cache: none
  after:
    run: concat
    args: [$shaky, "!"]
YAML
"$SLUICE" run --broker "$BROKER_EP" --events --json --quiet \
    "$WORK/flaky.yaml" >"$WORK/out" || fail "the flaky run failed"
out=$(tail -n 1 "$WORK/out")
expect_eq "$(jq -r .state <<<"$out")" done "run state"
expect_eq "$(node "$out" after value)" '"a!"' "result after retries"
expect_eq "$(grep -c 'flaky a' "$WORK/calls")" 3 "attempts"
retried=$(grep '"event":"queued"' "$WORK/out" | grep -c 'attempt [12] failed')
expect_eq "$retried" 2 "queued-again events naming the failed attempt"
grep -q 'retry 2 of 3 in [0-9]* ms' "$WORK/out" || fail "no backoff in events"

cat >"$WORK/fails.yaml" <<'YAML'
flow: fails
tasks:
  bad:
    run: flaky
    args: [b, 100]
    retries: 1
    retry_delay: 50ms
  child:
    run: echo
    args: [$bad]
  grandchild:
    run: echo
    args: [$child]
  sibling:
    run: add
    args: [2, 3]
YAML
rc=0
out=$(run_json "$WORK/fails.yaml") || rc=$?
expect_eq "$rc" 1 "exit code of a failed run"
expect_eq "$(jq -r .state <<<"$out")" failed "run state"
expect_eq "$(grep -c 'flaky b' "$WORK/calls")" 2 "attempts with retries: 1"
node "$out" bad error | grep -q "flaky: failure 2 of 100" ||
    fail "bad's error: $(node "$out" bad error)"
expect_eq "$(node "$out" child error)" "\"upstream node 'bad' failed\"" \
    "child's error"
expect_eq "$(node "$out" grandchild state)" '"failed"' "grandchild's state"
expect_eq "$(node "$out" sibling value)" 5 "the sibling still ran"
pass "retries with backoff; failures fail dependents, not siblings"
