# tests/integration/test_watchers.sh: a run is followed by its submitter and
# any number of `sluice watch` clients at once: each gets the whole event
# stream from the moment it follows, and all report the same times (the
# broker's). On fdda4fe a second watcher stole the stream: the submitter
# got 0 of 17 DONE events, and the clients printed different run times.
# Also: status lists runs newest first with their times, $SLUICE_BROKER
# names the broker, bench runs stay out of the list, and a task no worker
# serves is named at once and, with --wait-for-worker, given up on.
source "$(dirname "$0")/lib.sh"

start_broker
start_worker w1 --slots 4 --tasks "$TEST_PLUGIN"
wait_workers 1
export SLUICE_BROKER=$BROKER_EP # every command below finds the broker so

printf 'flow: gated\ntasks:\n  g:\n    run: gate\n    map: {x: [%s]}\n    args: [%s/open, $x]\n    cache: none\n' \
    "$(seq -s, 1 17)" "$WORK" >"$WORK/gated.yaml"
"$SLUICE" run --json --quiet --events "$WORK/gated.yaml" >"$WORK/sub.out" &
submitter=$!
id=""
for _ in $(seq 100); do
    id=$("$SLUICE" status --json | jq -r '.runs[0].run_id // empty')
    [ -n "$id" ] && break
    sleep 0.05
done
[ -n "$id" ] || fail "the run did not show up"
"$SLUICE" watch "$id" --json --quiet --events >"$WORK/w1.out" &
watch1=$!
"$SLUICE" watch "$id" --json --quiet --events >"$WORK/w2.out" &
watch2=$!
wait_log "run=$id followed by 3 clients" "$WORK/broker.log" \
    "the two watchers did not both follow the run"
touch "$WORK/open"
for p in $submitter $watch1 $watch2; do
    wait "$p" || fail "a client of the run failed"
done
for f in sub w1 w2; do
    done_events=$(grep -c '"event":"done"' "$WORK/$f.out" || true)
    expect_eq "$done_events" 17 "DONE events seen by $f"
done
times() { tail -n 1 "$WORK/$1.out" | jq -c '[.submitted_ms, .finished_ms, .duration_ms]'; }
expect_eq "$(times w1)" "$(times sub)" "run times of the first watcher and the submitter"
expect_eq "$(times w2)" "$(times sub)" "run times of the second watcher and the submitter"
[ "$(tail -n 1 "$WORK/sub.out" | jq .duration_ms)" -gt 0 ] ||
    fail "no run time in the result"
pass "the submitter and two watchers each got all 17 DONE events and the same times"

# status: newest first, with start time and duration; bench runs unlisted
"$SLUICE" run --json --quiet "$SLUICE_SRC/examples/mapreduce.yaml" >/dev/null
"$SLUICE" bench fanout --tasks 200 --no-limits --json >"$WORK/bench.out" 2>&1 ||
    fail "sluice bench fanout failed: $(cat "$WORK/bench.out")"
flows=$("$SLUICE" status --json | jq -c '[.runs[].flow]')
expect_eq "$flows" '["Sum of Squares","gated"]' "runs in status, newest first"
"$SLUICE" status | grep -E "^  [0-9A-F]{16} done +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z +[0-9.]+s Sum of Squares" >/dev/null ||
    fail "status does not show the start time and duration: $("$SLUICE" status | grep -A3 RUNS)"
pass "status lists runs newest first with times; bench runs are left out"

# a task no connected worker serves: named at once, and given up on
printf 'flow: lonely\ntasks:\n  a: {run: nobody_serves_this, args: [1]}\n' \
    >"$WORK/lonely.yaml"
rc=0
"$SLUICE" run --json --wait-for-worker 1s "$WORK/lonely.yaml" \
    >"$WORK/lonely.out" 2>"$WORK/lonely.err" || rc=$?
expect_eq "$rc" 1 "exit code after giving up on a worker"
grep -q "node a waits: no connected worker serves task 'nobody_serves_this'" \
    "$WORK/lonely.err" || fail "no waiting message: $(cat "$WORK/lonely.err")"
grep -q "no connected worker serves task 'nobody_serves_this' (waited 1000 ms for one)" \
    "$WORK/lonely.out" || fail "the give-up error: $(cat "$WORK/lonely.out")"
rc=0
"$SLUICE" run --wait-for-worker soon "$WORK/lonely.yaml" 2>"$WORK/err" || rc=$?
expect_eq "$rc" 2 "exit code of a bad --wait-for-worker"
grep -q "wait-for-worker 'soon'" "$WORK/err" || fail "$(cat "$WORK/err")"
pass "a task no worker serves is named at once and given up on after the wait"

# --local cannot ever get another worker: a task none of its own has fails
# at once, naming the task and how to provide it
rc=0
"$SLUICE" run --local "$SLUICE_SRC/examples/seed.yaml" 2>"$WORK/err" || rc=$?
expect_eq "$rc" 2 "exit code of --local without the seed's plugin"
grep -q "node 'add' runs task 'add_numbers', which no local worker has: give the plugin that defines it with --tasks LIB.so" \
    "$WORK/err" || fail "--local: $(cat "$WORK/err")"

# small things users hit: watch --help is watch's; keygen makes its folder
"$SLUICE" watch --help | head -n 1 | grep -q "usage: sluice watch RUN" ||
    fail "watch --help: $("$SLUICE" watch --help | head -n 1)"
"$SLUICE" keygen "$WORK/new/keys/broker" >/dev/null || fail "keygen into a new folder"
[ -f "$WORK/new/keys/broker.key" ] || fail "keygen did not make keys/"
[ "$(stat -c %a "$WORK/new/keys")" = 700 ] || fail "the key folder is not 0700"
pass "--local names a missing task at once; watch --help; keygen makes folders"
