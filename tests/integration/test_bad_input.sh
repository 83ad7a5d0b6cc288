# tests/integration/test_bad_input.sh: a bad flow file gets its error with
# file, line and column and the broker has no new run; an unknown parameter
# is rejected by the broker; garbage frames on either broker socket are
# answered or dropped and the broker keeps serving.
source "$(dirname "$0")/lib.sh"

HP=$(ports 1)
start_broker --http "127.0.0.1:$HP"
start_worker w1
wait_workers 1

runs() {
    "$SLUICE" status --broker "$BROKER_EP" --json | jq '.runs | length'
}

printf 'flow: bad\ntasks:\n  a: {run: echo, args: [1]}\n  b:\n    run: sum\n    args: [$nope]\n' >"$WORK/bad.yaml"
rc=0
err=$("$SLUICE" run --broker "$BROKER_EP" "$WORK/bad.yaml" 2>&1) || rc=$?
expect_eq "$rc" 2 "exit code for a bad flow file"
grep -q "bad.yaml:6:11: node 'b' refers to '\$nope'" <<<"$err" ||
    fail "error does not name file:line:col: $err"
expect_eq "$(runs)" 0 "runs after a bad flow file"

rc=0
err=$("$SLUICE" run --broker "$BROKER_EP" --param nosuch=1 \
    "$SLUICE_SRC/examples/mapreduce.yaml" 2>&1) || rc=$?
expect_eq "$rc" 2 "exit code for an unknown parameter"
grep -q "unknown parameter 'nosuch'" <<<"$err" || fail "reason: $err"
expect_eq "$(runs)" 0 "runs after a rejected submit"

for kind in garbage empty frames version unknown-type; do
    got=$("$SEND_RAW" "$BROKER_EP" "$kind")
    case "$kind:$got" in
    garbage:error*|empty:error*|version:error*protocol\ version\ 99*) ;;
    unknown-type:error*no\ known\ message\ type*) ;;
    frames:none) ;; # three frames: not a message, logged and dropped
    *) fail "client socket, $kind: $got" ;;
    esac
done
for kind in garbage worker-result submit-on-worker; do
    got=$("$SEND_RAW" "$WORKERS_EP" "$kind")
    [[ "$got" == error* ]] || fail "worker socket, $kind: $got"
done
grep -q "unknown worker: send READY first" <<<"$("$SEND_RAW" "$WORKERS_EP" \
    worker-result)" || fail "a result from a stranger is not refused"
# a worker claiming a task it was never given: dropped and logged
"$SEND_RAW" "$WORKERS_EP" claim >/dev/null
grep -q "worker=claimer task=7700000001 attempt=1 result dropped" \
    "$WORK/broker.log" || fail "a claimed task was not refused"

out=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml") ||
    fail "broker stopped serving after bad input"
expect_eq "$(node "$out" total value)" 385 "result after bad input"
expect_eq "$(runs)" 1 "runs after bad input"
pass "bad flows and garbage frames: clear errors, nothing lost"

# a frame over the message cap (64 MiB) is answered at once with the
# reason (on fdda4fe libzmq cut the connection: no answer, no log line)
got=$("$SEND_RAW" "$BROKER_EP" oversize 200)
expect_eq "$got" "error: message of 209715200 bytes is over the cap of 67108864" \
    "answer to a 200 MiB frame"
grep -q "bad client message: message of 209715200 bytes is over the cap" \
    "$WORK/broker.log" || fail "the 200 MiB frame was not logged"

# 20,000 garbage frames: each answered, a few log lines, all counted
before=$(grep -c "bad client message" "$WORK/broker.log")
got=$("$SEND_RAW" "$BROKER_EP" flood 20000)
expect_eq "$got" "errors: 20000" "garbage frames answered"
lines=$(($(grep -c "bad client message" "$WORK/broker.log") - before))
[ "$lines" -le 60 ] || fail "20,000 garbage frames wrote $lines log lines"
grep -q "more bad messages this second are only counted" "$WORK/broker.log" ||
    fail "the log does not say the rest are only counted"
bad=$(curl -sf "http://127.0.0.1:$HP/metrics" |
    awk '$1 == "sluice_bad_messages_total" { print $2 }')
[ "${bad%.*}" -ge 20000 ] || fail "bad messages counted: $bad"
out=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml") ||
    fail "broker stopped serving after the flood"
pass "an oversized frame is answered; a flood is answered, counted, and logged a few times"

# no broker at the address: a clear error naming it, exit 3, quickly
nowhere="tcp://127.0.0.1:$(ports 1)"
rc=0
err=$("$SLUICE" run --broker "$nowhere" --timeout 500 \
    "$SLUICE_SRC/examples/mapreduce.yaml" 2>&1) || rc=$?
expect_eq "$rc" 3 "exit code with no broker"
grep -q "no answer from the broker at $nowhere in 500 ms" <<<"$err" ||
    fail "no-broker error: $err"
pass "no broker: a clear error"
