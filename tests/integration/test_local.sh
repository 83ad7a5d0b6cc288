# tests/integration/test_local.sh: the seed flow with `sluice run --local`
# on the embedded LMDB cache: no servers, computed once, then all hits.
source "$(dirname "$0")/lib.sh"

export SLUICE_EXAMPLE_CALLS="$WORK/calls"
local_run() {
    "$SLUICE" run --local --tasks "$EXAMPLE_PLUGIN" --json --quiet \
        "$SLUICE_SRC/examples/seed.yaml"
}
first=$(local_run) || fail "first local run failed"
expect_eq "$(node "$first" add value)" 15 "first result"
expect_eq "$(node "$first" add cached)" 0 "first run hits"
[ -f "$SLUICE_CACHE_DIR/data.mdb" ] || fail "no LMDB file in $SLUICE_CACHE_DIR"
second=$(local_run) || fail "second local run failed"
expect_eq "$(node "$second" add value)" 15 "second result"
expect_eq "$(node "$second" add cached)" 1 "second run hits"
expect_eq "$(calls "$WORK/calls")" 1 "calls over both runs"
got=$("$SLUICE" cache get sluice:v1:default:add_numbers --json)
expect_eq "$(jq -r .value <<<"$got")" 15 "cache get on the embedded cache"

# a bad flow file: exit 2, nothing runs
printf 'flow: x\ntasks:\n  a: {args: [1]}\n' >"$WORK/norun.yaml"
rc=0
err=$("$SLUICE" run --local "$WORK/norun.yaml" 2>&1) || rc=$?
expect_eq "$rc" 2 "exit code for a flow with no run"
grep -q "norun.yaml:3:6: task 'a' has no 'run'" <<<"$err" || fail "$err"

# a failing task: exit 1, its dependent fails, its sibling does not
printf 'flow: f\ntasks:\n  bad: {run: fail, args: [boom]}\n  after: {run: echo, args: [$bad]}\n  ok: {run: add, args: [1, 2]}\n' \
    >"$WORK/fails.yaml"
rc=0
out=$("$SLUICE" run --local --json --quiet "$WORK/fails.yaml") || rc=$?
expect_eq "$rc" 1 "exit code when a task fails"
expect_eq "$(node "$out" bad error)" '"boom"' "the task's own error"
expect_eq "$(node "$out" after error)" "\"upstream node 'bad' failed\"" \
    "dependent's error"
expect_eq "$(node "$out" ok value)" 3 "independent sibling"
rc=0
err=$("$SLUICE" run --local --workers 0 "$SLUICE_SRC/examples/seed.yaml" 2>&1) ||
    rc=$?
expect_eq "$rc" 2 "exit code of --workers 0"
grep -q "\-\-workers '0': give a whole number from 1 to 256" <<<"$err" ||
    fail "--workers 0 said: $err"
pass "--local with LMDB: computed once, then served from the embedded cache"
