# tests/integration/test_isolate.sh: with --isolate each task runs in a
# forked child: a task past its timeout is killed (the worker lives) and is
# retried; a task that crashes its process fails with the signal named, and
# the worker goes on serving.
source "$(dirname "$0")/lib.sh"

start_broker
export SLUICE_TEST_CALLS="$WORK/calls"
# under AddressSanitizer (CI's second run) let SIGSEGV kill the child as it
# would without it, instead of ASan reporting it and exiting 1
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0"
start_worker iso --tasks "$TEST_PLUGIN" --isolate --slots 2
wait_workers 1
iso_pid=${PIDS[-1]}

cat >"$WORK/slow.yaml" <<'YAML'
flow: slow
tasks:
  once:
    run: slow_once
    args: [a, 10000]
    timeout: 300ms
    retries: 2
    retry_delay: 50ms
    cache: none
YAML
start=$(date +%s)
out=$(run_json "$WORK/slow.yaml") || fail "the run failed: $out"
elapsed=$(($(date +%s) - start))
[ "$elapsed" -lt 5 ] || fail "the hung attempt was not cut short (${elapsed}s)"
expect_eq "$(node "$out" once value)" '"a"' "result of the retry"
expect_eq "$(node "$out" once timeouts)" 1 "timed-out attempts"
expect_eq "$(grep -c 'slow a' "$WORK/calls")" 2 "attempts"
kill -0 "$iso_pid" || fail "the worker died with its task"

cat >"$WORK/forever.yaml" <<'YAML'
flow: forever
tasks:
  stuck:
    run: sleep_ms
    args: [60000]
    timeout: 200ms
    retries: 1
    retry_delay: 10ms
    cache: none
  crash:
    run: crash
    cache: none
  fine:
    run: add
    args: [1, 2]
YAML
rc=0
out=$(run_json "$WORK/forever.yaml") || rc=$?
expect_eq "$rc" 1 "exit code"
expect_eq "$(node "$out" stuck timeouts)" 2 "timeouts of a task that hangs"
node "$out" stuck error | grep -q "timeout: still running after 200 ms, killed" ||
    fail "stuck's error: $(node "$out" stuck error)"
node "$out" crash error | grep -q "the task's process died (Segmentation fault)" ||
    fail "crash's error: $(node "$out" crash error)"
expect_eq "$(node "$out" crash errors)" 1 "crash counted as an error"
expect_eq "$(node "$out" fine value)" 3 "the worker still serves"
kill -0 "$iso_pid" || fail "the worker died"
pass "--isolate: timeouts kill the child and retry; crashes spare the worker"
