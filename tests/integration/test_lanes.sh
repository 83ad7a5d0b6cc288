# tests/integration/test_lanes.sh: results on a lane (docs/PROTOCOL.md,
# "Lanes"), from a worker written from the protocol alone (raw_worker.c):
# a lane's answer counts; one naming an incarnation no worker has is
# dropped; a heartbeat that overtakes an answer on a lane loses nothing,
# two in a row do; a worker that says goodbye while its answers are on a
# lane keeps them. Then real workers: their answers come on lanes.
source "$(dirname "$0")/lib.sh"

RAW="$SLUICE_BIN/tests/raw_worker"
printf 'flow: one\ntasks:\n  a: {run: add, args: [1, 2], cache: none}\n' \
    >"$WORK/one.yaml"

# raw MODE: a broker of its own, the raw worker in MODE, one run; prints
# the run's value. The raw worker's log is $WORK/raw-MODE.log. It runs in
# a command substitution, a subshell whose PIDS the test's cleanup never
# sees: it stops what it started itself.
raw() {
    local mode=$1 fifo="$WORK/raw-$1.in" out started=${#PIDS[@]}
    start_broker --heartbeat-ms 200
    mkfifo "$fifo"
    "$RAW" "$WORKERS_EP" "$mode" <"$fifo" >"$WORK/raw-$mode.log" 2>&1 &
    PIDS+=($!)
    exec 7>"$fifo" # holds its standard input open until the run is over
    wait_workers 1
    out=$(run_json "$WORK/one.yaml") ||
        fail "$mode: the run failed: $out"
    exec 7>&-
    grep -q "lanes taken" "$WORK/raw-$mode.log" ||
        fail "$mode: the broker's TaskBatch did not say it takes lanes"
    node "$out" a value
    kill "${PIDS[@]:started}" 2>/dev/null
    wait "${PIDS[@]:started}" 2>/dev/null
}

expect_eq "$(raw lane)" 42 "an answer on a lane"
pass "a result on a lane, naming the worker's incarnation, counts"

expect_eq "$(raw stranger)" 42 "an answer after a stranger's"
grep -q "results on a lane of incarnation raw-nobody dropped" \
    "$WORK/broker.log" || fail "the stranger's answer was not logged"
pass "a result on a lane naming an unknown incarnation is dropped"

expect_eq "$(raw unlisted)" 42 "an answer overtaken by a heartbeat"
grep -q "heartbeat without the task read" "$WORK/raw-unlisted.log" ||
    fail "the broker never read the heartbeat"
pass "one heartbeat that does not list a task loses nothing"

expect_eq "$(raw forgot)" 7 "a task two heartbeats forgot"
grep -q "task again, attempt [23]" "$WORK/raw-forgot.log" ||
    fail "the lost task did not come again"
grep -q "worker=raw task=[0-9a-f]* lost, requeued" "$WORK/broker.log" ||
    fail "the lost task was not logged"
pass "two heartbeats in a row that do not list a task lose it"

expect_eq "$(raw goodbye)" 42 "an answer on a lane after goodbye"
wait_log "worker=raw gone (said goodbye)" "$WORK/broker.log" \
    "the worker that said goodbye was not dropped once it held nothing"
pass "a worker's answers on its lanes count after its goodbye"

# real workers: their answers come on lanes (the broker's debug line
# names the worker and the lane), and a flow's results are right
start_broker
start_worker w1 --slots 2
wait_workers 1
out=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml") || fail "mapreduce"
expect_eq "$(node "$out" total value)" 385 "mapreduce on lanes"
expect_lanes w1 "$SLUICE_SRC/examples/mapreduce.yaml"
pass "a worker's executors answer on their lanes"
