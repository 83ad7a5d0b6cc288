# tests/integration/test_curve.sh: CURVE on both broker sockets. Keys made
# by `sluice keygen`; the broker takes only the allow-listed ones (its ZAP
# handler logs and counts each refusal), refuses to start with a key but no
# allow-list, refuses a keyed worker's messages under another worker's id,
# and on revocation (a .pub removed) drops the worker and cuts its
# connection; clients and workers that are refused say so clearly.
source "$(dirname "$0")/lib.sh"

keys="$WORK/keys"
mkdir -p "$keys/clients" "$keys/workers"
"$SLUICE" keygen "$keys/broker" "$keys/alice" "$keys/bob" "$keys/w1" \
    "$keys/w2" "$keys/mallory" >/dev/null || fail "keygen"
[ "$(stat -c %a "$keys/alice.key")" = 600 ] || fail "a .key file is not 0600"
grep -q secret-key "$keys/alice.pub" && fail "a .pub file holds a secret"
rc=0
err=$("$SLUICE" keygen "$keys/alice" 2>&1) || rc=$?
expect_eq "$rc" 1 "keygen over an existing key"
grep -q "already exists" <<<"$err" || fail "keygen overwrite message: $err"
cp "$keys/alice.pub" "$keys/bob.pub" "$keys/clients/"
cp "$keys/w1.pub" "$keys/w2.pub" "$keys/workers/"

# bad configurations: each refused at start, saying what is wrong
expect_start_error() { # expect_start_error PATTERN BROKER-OPTIONS...
    local pattern=$1 rc=0 out
    shift
    out=$("$BROKER" --clients tcp://127.0.0.1:0 --workers tcp://127.0.0.1:0 \
        --journal none "$@" 2>&1) || rc=$?
    expect_eq "$rc" 1 "exit code of sluice-broker $*"
    grep -q -- "$pattern" <<<"$out" || fail "sluice-broker $*: said: $out"
}
expect_start_error "needs an allow-list" --key "$keys/broker.key"
expect_start_error "needs an allow-list" --key "$keys/broker.key" \
    --allow-clients "$keys/clients"
expect_start_error "needs the broker's key" --allow-clients "$keys/clients" \
    --allow-workers "$keys/workers"
expect_start_error "holds no secret key" --key "$keys/broker.pub" \
    --allow-clients "$keys/clients" --allow-workers "$keys/workers"
expect_start_error "cannot read the folder" --key "$keys/broker.key" \
    --allow-clients "$keys/nosuch" --allow-workers "$keys/workers"
pass "a key without allow-lists, or a bad key file, stops the broker"

start_redis
start_broker --key "$keys/broker.key" --allow-clients "$keys/clients" \
    --allow-workers "$keys/workers"
export SLUICE_KEY="$keys/alice.key" SLUICE_BROKER_KEY="$keys/broker.pub"
export SLUICE_EXAMPLE_CALLS="$WORK/calls"
wopts=(--tasks "$EXAMPLE_PLUGIN" --cache "$REDIS_URL" --slots 2
    --broker-key "$keys/broker.pub")
start_worker w1 "${wopts[@]}" --key "$keys/w1.key"
start_worker w2 "${wopts[@]}" --key "$keys/w2.key"
start_worker mallory "${wopts[@]}" --key "$keys/mallory.key"
wait_workers 2

out=$(run_json "$SLUICE_SRC/examples/seed.yaml") || fail "seed run failed"
expect_eq "$(node "$out" add value)" 15 "add_numbers(5, 10) over CURVE"
grep -q "curve=on" "$WORK/broker.log" || fail "broker does not say curve=on"
pass "allowed client and workers run the seed flow over CURVE"

# a lane is the worker's only with the key that said Ready: a raw worker
# (key w1) answers on a lane keyed w2, which is refused, then on its own
# connection (raw_worker.c, mode foreign)
expect_lanes "w[12]" "$SLUICE_SRC/examples/seed.yaml"
printf 'flow: raw\ntasks:\n  a: {run: raw_only, args: [1], cache: none}\n' \
    >"$WORK/raw.yaml"
mkfifo "$WORK/raw.in"
RAW_TASK=raw_only RAW_KEY="$keys/w1.key" RAW_LANE_KEY="$keys/w2.key" \
    "$SLUICE_BIN/tests/raw_worker" "$WORKERS_EP" foreign <"$WORK/raw.in" \
    >"$WORK/raw.log" 2>&1 &
PIDS+=($!)
exec 7>"$WORK/raw.in"
run_json "$WORK/raw.yaml" >"$WORK/raw.json" &
run=$!
wait_log "refused results on a lane with key" "$WORK/broker.log" \
    "a lane with another worker's key was not refused"
echo go >&7
wait "$run" || fail "the raw worker's run failed"
exec 7>&-
expect_eq "$(node "$(cat "$WORK/raw.json")" a value)" 7 \
    "the answer after a refused lane"
pass "results on a lane with another key than the worker's are refused"

status() { "$SLUICE" status --broker "$BROKER_EP" --json; }
wait_log "refused this key" "$WORK/mallory.log" \
    "the refused worker does not say so"
mallory=$(sed -n 's/.*public-key = "\(.*\)"/\1/p' "$keys/mallory.pub")
grep -qF "refused a worker from 127.0.0.1: key $mallory is not" \
    "$WORK/broker.log" || fail "the broker did not log the refused worker"
[ "$(status | jq .broker.refused_workers)" -ge 1 ] ||
    fail "refused worker not counted"
status | jq -e '[.workers[].id] | index("mallory") == null' >/dev/null ||
    fail "the refused worker registered"
# and it stops at once on SIGTERM: it has nothing to finish (it used to
# wait out its 25 s grace for a broker that would not talk to it)
stop_pid "${PIDS[-1]}" || fail "the refused worker did not stop within 5 s"
pass "a worker without an allowed key is refused, logged and counted"

expect_client_error() { # expect_client_error PATTERN KEY BROKER-KEY
    local rc=0 out started=$SECONDS
    out=$(SLUICE_KEY=$2 SLUICE_BROKER_KEY=$3 "$SLUICE" status \
        --broker "$BROKER_EP" --timeout 20000 2>&1) || rc=$?
    [ "$rc" -ne 0 ] || fail "a client with key '$2' got an answer"
    grep -q "$1" <<<"$out" || fail "client with key '$2' said: $out"
    [ $((SECONDS - started)) -lt 10 ] || fail "the refusal took until timeout"
}
expect_client_error "refused this key" "$keys/mallory.key" "$keys/broker.pub"
expect_client_error "wants CURVE keys" "" ""
expect_client_error "CURVE handshake with .* failed" "$keys/alice.key" \
    "$keys/mallory.pub"
[ "$(status | jq .broker.refused_clients)" -ge 1 ] ||
    fail "refused client not counted"
pass "refused clients fail at once with a clear error"

# a keyed worker that claims another worker's id is not that worker: it
# gets a name of its own, w1 keeps its own, and the broker stays up when
# either goes (on fdda4fe the two took the routing id from each other
# until libzmq aborted the broker)
start_worker w1 "${wopts[@]}" --key "$keys/w2.key"
wait_log "worker id 'w1' is taken by a live worker" "$WORK/broker.log" \
    "a second worker claiming id w1 was not given a name of its own"
wait_workers 3
status | jq -e '[.workers[].id] | (index("w1") != null and
    index("w1~2") != null)' >/dev/null ||
    fail "workers with a shared id: $(status | jq -c '[.workers[].id]')"
out=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml") ||
    fail "run beside the impostor failed: $out"
expect_eq "$(node "$out" total value)" 385 "sum of squares beside the impostor"
kill -9 "${PIDS[-1]}"
unset 'PIDS[-1]'
for _ in $(seq 100); do
    status | jq -e '[.workers[].id] | index("w1~2") == null' >/dev/null &&
        break
    sleep 0.1
done
status | jq -e '[.workers[].id] | index("w1") != null' >/dev/null ||
    fail "w1 is not registered after the impostor left"
pass "a worker claiming another's id (another key) gets its own name; the broker stays up"

# revoking w2: dropped at the next reload, its connection cut, refused after
rm "$keys/workers/w2.pub"
for _ in $(seq 50); do
    status | jq -e '[.workers[].id] | index("w2") == null' >/dev/null && break
    sleep 0.1
done
status | jq -e '[.workers[].id] | index("w2") == null' >/dev/null ||
    fail "the revoked worker is still registered"
grep -q "key .* (w2.pub) revoked" "$WORK/broker.log" || fail "no revoke log"
wait_log "refused this key" "$WORK/w2.log" \
    "the revoked worker was not cut off and refused"
expect_eq "$(status | jq .broker.revoked_keys)" 1 "revoked keys counted"
wait_workers 1 # w1 comes back after the cut
numbers="[$(seq -s, 1 200)]"
out=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml" \
    --param "numbers=$numbers") || fail "run after the revocation failed"
expect_eq "$(node "$out" total value)" 2686700 "sum of squares 1..200"
status | jq -e '[.workers[].id] == ["w1"]' >/dev/null ||
    fail "workers after the revocation: $(status | jq -c '[.workers[].id]')"
pass "a revoked worker is dropped, cut off and refused; the others go on"

# a client whose key is revoked while its run goes on: cut off, and its
# `sluice run` exits 3 (the broker refused it), not 1 (a failed task), as
# on fdda4fe
printf 'flow: slow\ntasks:\n  nap: {run: sleep_ms, args: [30000, 1], cache: none}\n' \
    >"$WORK/slow.yaml"
SLUICE_KEY="$keys/bob.key" "$SLUICE" run --broker "$BROKER_EP" --json \
    --quiet "$WORK/slow.yaml" >"$WORK/bob.out" 2>"$WORK/bob.err" &
bob=$!
for _ in $(seq 100); do
    [ "$(status | jq '[.runs[] | select(.flow == "slow")] | length')" = 1 ] &&
        break
    sleep 0.1
done
rm "$keys/clients/bob.pub"
rc=0
wait "$bob" || rc=$?
expect_eq "$rc" 3 "exit code of a client revoked mid-run"
grep -q "refused this key" "$WORK/bob.err" || fail "bob said: $(cat "$WORK/bob.err")"
# the run goes on without its client; an allowed client may cancel it
id=$(status | jq -r '[.runs[] | select(.flow == "slow")][0].run_id')
"$SLUICE" cancel "$id" --broker "$BROKER_EP" >/dev/null || fail "cancel"
for _ in $(seq 100); do
    [ "$(status | jq .broker.tasks_in_flight)" = 0 ] && break
    sleep 0.1
done
expect_eq "$(status | jq .broker.tasks_in_flight)" 0 "tasks in flight after the cancel"
pass "a client revoked mid-run is cut off and exits 3"

# --allow-programs: only the keys in that folder may submit program tasks
"$SLUICE" keygen "$keys/carol" "$keys/w3" >/dev/null || fail "keygen carol"
mkdir -p "$keys/programs" "$keys/clients2" "$keys/workers2"
cp "$keys/alice.pub" "$keys/programs/"
cp "$keys/alice.pub" "$keys/carol.pub" "$keys/clients2/"
cp "$keys/w3.pub" "$keys/workers2/"
expect_start_error "needs the broker's key" --allow-programs "$keys/programs"
start_broker --key "$keys/broker.key" --allow-clients "$keys/clients2" \
    --allow-workers "$keys/workers2" --allow-programs "$keys/programs"
start_worker runner --key "$keys/w3.key" --broker-key "$keys/broker.pub" \
    --exec /bin/echo --cache "$REDIS_URL"
wait_workers 1
printf 'flow: prog\ntasks:\n  hi: {cmd: [/bin/echo, 42], cache: none}\n' \
    >"$WORK/prog.yaml"
out=$(SLUICE_KEY="$keys/alice.key" run_json "$WORK/prog.yaml") ||
    fail "alice's program: $out"
expect_eq "$(node "$out" hi value)" 42 "a program from a key allowed to"
rc=0
err=$(SLUICE_KEY="$keys/carol.key" run_json "$WORK/prog.yaml" 2>&1) || rc=$?
expect_eq "$rc" 2 "exit code of a program from a key not allowed to"
grep -q "node 'hi' runs a program, and this client's key .* is not one the \
broker lets submit programs (--allow-programs)" <<<"$err" || fail "carol: $err"
out=$(SLUICE_KEY="$keys/carol.key" run_json "$SLUICE_SRC/examples/mapreduce.yaml") ||
    fail "carol's flow without programs: $out"
pass "--allow-programs: only its keys submit programs; others' other flows run"
