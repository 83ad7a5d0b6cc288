# tests/integration/test_programs.sh: program tasks on real workers: a
# program outside a worker's rules is refused with the rule named, one no
# worker may run waits and says so, a failing program's error carries its
# exit status and standard error, a timeout kills its grandchildren, 100 MB
# of output is a bounded error, identical program tasks in flight run
# once, and a worker killed mid-program has its task requeued, and the
# next worker on that machine kills the orphan and removes its folder.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/ws" "$WORK/wd"
start_redis
start_broker --heartbeat-ms 200
# /bin comes first in its path, so `cat` is /bin/cat there: not /usr/bin/*
start_worker strict --cache "$REDIS_URL" --exec '/usr/bin/*' \
    --exec-path /bin:/usr/bin --heartbeat-ms 200
wait_workers 1

cat >"$WORK/refused.yaml" <<'YAML'
flow: refused
tasks:
  cat: { cmd: [cat], cache: none }
  nowhere: { cmd: [/opt/sluice-none/x], cache: none }
YAML
rc=0
out=$(run_json "$WORK/refused.yaml" --wait-for-worker 1s) || rc=$?
expect_eq "$rc" 1 "exit code of refused programs"
node "$out" cat error | grep -q "program 'cat' (/bin/cat) is not allowed by \
this worker's --exec rules (/usr/bin/\*)" || fail "cat: $(node "$out" cat error)"
node "$out" nowhere error | grep -q "no connected worker may run program \
'/opt/sluice-none/x' (waited 1000 ms for one)" ||
    fail "nowhere: $(node "$out" nowhere error)"
status=$("$SLUICE" status --broker "$BROKER_EP" --json)
expect_eq "$(jq -c '.workers[0].exec' <<<"$status")" '["/usr/bin/*"]' \
    "the rules status shows"
pass "a program outside the rules is refused, naming the rule"

start_worker any --cache "$REDIS_URL" --exec '*' --workspace "$WORK/ws" \
    --work-dir "$WORK/wd" --heartbeat-ms 200 --slots 2
wait_workers 2
strict_pid=${PIDS[-2]}
stop_pid "$strict_pid" || fail "the strict worker did not stop"

cat >"$WORK/fail.yaml" <<'YAML'
flow: fail
tasks:
  bad:
    sh: 'echo "half done" >&2; echo "bad things" >&2; exit 4'
    retries: 1
    retry_delay: 10ms
  hung:
    sh: 'sleep 300 & echo $! > "$SLUICE_WORKSPACE/gc.pid"; echo waiting >&2; wait'
    timeout: 500ms
  flood:
    cmd: [head, -c, 100000000, /dev/zero]
    stdout: bytes
  ok:
    cmd: [printf, '{"n": %s}', 7]
YAML
rc=0
start=$(date +%s)
out=$(run_json "$WORK/fail.yaml") || rc=$?
expect_eq "$rc" 1 "exit code of failing programs"
[ $(($(date +%s) - start)) -lt 20 ] || fail "the failures took too long"
node "$out" bad error | jq -r . | grep -qx "program '/bin/sh' exited with \
status 4: half done | bad things" || fail "bad: $(node "$out" bad error)"
expect_eq "$(node "$out" bad errors)" 2 "attempts of a failing program"
node "$out" hung error | grep -q "timeout: program '/bin/sh' still running \
after 500 ms, its process group killed" || fail "hung: $(node "$out" hung error)"
gc=$(cat "$WORK/ws/gc.pid")
for _ in $(seq 100); do
    kill -0 "$gc" 2>/dev/null || break
    sleep 0.05
done
kill -0 "$gc" 2>/dev/null && fail "the timed-out program's child $gc lives"
node "$out" flood error | grep -q "wrote more than 16777216 bytes to standard \
output (the worker's --max-stdout): killed, nothing kept" ||
    fail "flood: $(node "$out" flood error)"
expect_eq "$(node "$out" ok value)" '{"n":7}' "a program's JSON result"
left=$(find "$WORK/wd" -mindepth 2)
[ -z "$left" ] || fail "what programs left in their folders: $left"
pass "failures carry status and stderr; timeouts kill grandchildren"

# sluice logs: what the last failed attempt wrote, kept with the run
run=$(jq -r .run_id <<<"$out")
logs=$("$SLUICE" logs "$run" bad --broker "$BROKER_EP") || fail "logs: $logs"
grep -q "^bad\[0\] of run $run, attempt 2 on any: program '/bin/sh' exited \
with status 4" <<<"$logs" || fail "logs header: $logs"
grep -qx "bad things" <<<"$logs" || fail "logs stderr: $logs"
json=$("$SLUICE" logs "$run" hung --broker "$BROKER_EP" --json) ||
    fail "logs hung: $json"
expect_eq "$(jq -r .error <<<"$json" | cut -c1-8)" "timeout:" "hung's logs"
expect_eq "$(jq -r '.stderr."$bytes"' <<<"$json")" "$(printf 'waiting\n' | od -An -tx1 | tr -d ' \n')" \
    "hung's standard error, in --json"
rc=0
msg=$("$SLUICE" logs "$run" ok --broker "$BROKER_EP" 2>&1) || rc=$?
expect_eq "$rc" 1 "exit code of logs of a task that did not fail"
grep -q "no failed attempt of that task left output" <<<"$msg" || fail "$msg"
rc=0
msg=$("$SLUICE" logs NOSUCHRUN bad --broker "$BROKER_EP" 2>&1) || rc=$?
expect_eq "$rc" 1 "exit code of logs of no such run"
grep -q "no such run" <<<"$msg" || fail "logs of no run: $msg"
rc=0
msg=$("$SLUICE" logs "$run" 'bad[x]' --broker "$BROKER_EP" 2>&1) || rc=$?
expect_eq "$rc" 2 "exit code of logs of a bad NODE[INDEX]"
pass "sluice logs shows what a failed program attempt wrote"

# inputs are linked into the working folder as named ("./in.txt" and a
# folder "dir/" too), so the program finds them where the node said
mkdir -p "$WORK/ws/dir"
echo one >"$WORK/ws/in.txt"
echo two >"$WORK/ws/dir/x.txt"
cat >"$WORK/links.yaml" <<'YAML'
flow: links
tasks:
  both:
    sh: 'cat in.txt dir/x.txt'
    inputs: [./in.txt, dir/]
    stdout: text
YAML
out=$(run_json "$WORK/links.yaml") || fail "linked inputs: $out"
expect_eq "$(node "$out" both value)" '"one\ntwo\n"' "what the program read"
pass "inputs are where the node named them"

# two runs at once of the same program call: one computes, one is served
cat >"$WORK/once.yaml" <<'YAML'
flow: once
tasks:
  slow:
    sh: 'echo ran >> "$SLUICE_WORKSPACE/ran"; sleep 1; echo 7'
YAML
run_json "$WORK/once.yaml" >"$WORK/once1.json" &
first=$!
wait_log ran "$WORK/ws/ran" "the first run's program"
run_json "$WORK/once.yaml" >"$WORK/once2.json" || fail "the second run"
wait "$first" || fail "the first run"
expect_eq "$(node "$(cat "$WORK/once1.json")" slow value)" 7 "first"
expect_eq "$(node "$(cat "$WORK/once2.json")" slow value)" 7 "second"
expect_eq "$(calls "$WORK/ws/ran")" 1 "runs of one program call"
pass "identical program tasks in flight run once"

# an output over the cache's cap: delivered; cached only with --blob-dir
cat >"$WORK/big.yaml" <<'YAML'
flow: big
tasks:
  big:
    sh: 'head -c 2000000 /dev/zero > big.bin; echo 1'
    outputs: [big.bin]
YAML
out=$(run_json "$WORK/big.yaml") || fail "big output: $out"
expect_eq "$(wc -c <"$WORK/ws/big.bin" | tr -d ' ')" 2000000 "big.bin delivered"
node "$out" big cache_error | grep -q "output 'big.bin' is 2000000 bytes, over \
the 1048576 a cache holds, and the worker has no --blob-dir: not cached" ||
    fail "big's cache error: $(node "$out" big cache_error)"
out=$(run_json "$WORK/big.yaml") || fail "big output again: $out"
expect_eq "$(node "$out" big cached)" 0 "big, not cached without a blob dir"
pass "an output over the cache's cap is delivered, not cached, saying why"

# a worker killed mid-program: requeued; the next worker here cleans up
cat >"$WORK/killed.yaml" <<'YAML'
flow: killed
tasks:
  long:
    sh: >-
      echo $$ > "$SLUICE_WORKSPACE/started.$SLUICE_ATTEMPT";
      if [ "$SLUICE_ATTEMPT" = 1 ]; then sleep 300; fi; echo 5
    cache: none
YAML
any_pid=${PIDS[-1]}
run_json "$WORK/killed.yaml" >"$WORK/killed.json" &
running=$!
wait_log . "$WORK/ws/started.1" "the program's first attempt"
orphan=$(cat "$WORK/ws/started.1")
kill -9 "$any_pid"
wait "$any_pid" 2>/dev/null || true
kill -0 "$orphan" || fail "the program died with its worker: nothing to test"
[ -n "$(ls -A "$WORK/wd")" ] || fail "no folder left by the killed worker"
start_worker again --cache "$REDIS_URL" --exec '*' --workspace "$WORK/ws" \
    --work-dir "$WORK/wd" --heartbeat-ms 200 --blob-dir "$WORK/blobs"
again_pid=${PIDS[-1]}
wait_log "removed [0-9]* working folders" "$WORK/again.log" "the sweep"
wait "$running" || fail "the run with a killed worker: $(cat "$WORK/killed.json")"
out=$(cat "$WORK/killed.json")
expect_eq "$(node "$out" long value)" 5 "result after the worker died"
expect_eq "$(node "$out" long deaths)" 1 "attempts lost with a worker"
for _ in $(seq 100); do
    kill -0 "$orphan" 2>/dev/null || break
    sleep 0.05
done
kill -0 "$orphan" 2>/dev/null && fail "the killed worker's program $orphan lives"
left=$(ls "$WORK/wd" | grep -v "^$again_pid\\." || true)
[ -z "$left" ] || fail "the killed worker's folders are left: $left"
pass "a worker killed mid-program: requeued, orphan killed, folder removed"

# with a blob folder, the large output is cached and comes back on a hit
out=$(run_json "$WORK/big.yaml") || fail "big with a blob dir: $out"
expect_eq "$(node "$out" big cache_errors)" 0 "cache errors with a blob dir"
[ -n "$(find "$WORK/blobs" -type f -size +1000k)" ] || fail "no blob in the folder"
rm "$WORK/ws/big.bin"
out=$(run_json "$WORK/big.yaml") || fail "big hit: $out"
expect_eq "$(node "$out" big cached)" 1 "big, a hit"
expect_eq "$(wc -c <"$WORK/ws/big.bin" | tr -d ' ')" 2000000 "big.bin restored"
pass "a large output in the blob folder, restored on a hit"

# cache gc: a blob no entry names (its entry deleted) goes; named ones stay
gc() {
    "$SLUICE" cache gc --cache "$REDIS_URL" --blob-dir "$WORK/blobs" "$@"
}
gc --older-than 1ms 2>"$WORK/gc" || fail "gc: $(cat "$WORK/gc")"
grep -q "^removed 0 blobs .*; kept 1 " "$WORK/gc" || fail "gc said $(cat "$WORK/gc")"
"$SLUICE" cache del --cache "$REDIS_URL" --task exec 2>/dev/null || fail "del exec"
listed=$(gc --older-than 1ms --dry-run 2>"$WORK/gc") || fail "gc --dry-run"
grep -q "^would remove 1 blobs" "$WORK/gc" || fail "gc --dry-run said $(cat "$WORK/gc")"
[ -f "$listed" ] || fail "a dry run removed $listed"
gc 2>"$WORK/gc" || fail "gc with the default grace"
grep -q "^removed 0 blobs" "$WORK/gc" || fail "a young blob went: $(cat "$WORK/gc")"
gc --older-than 1ms 2>"$WORK/gc" || fail "gc"
grep -q "^removed 1 blobs (2000000 bytes)" "$WORK/gc" || fail "gc said $(cat "$WORK/gc")"
[ -f "$listed" ] && fail "gc left $listed"
rc=0
"$SLUICE" cache gc --cache "$REDIS_URL" 2>/dev/null || rc=$?
expect_eq "$rc" 2 "exit code of gc without --blob-dir"
pass "cache gc removes the blobs no entry names, after a grace"
