# tests/integration/test_bad_options.sh: every numeric option of
# sluice-broker, sluice-worker and the sluice CLI refuses what is not a
# whole number in its bounds (zero where zero would silently mean a
# default, signs, fractions, trailing bytes, values past 32 bits that
# used to wrap): exit 2, one line naming the program, the option and the
# value, and nothing started.
source "$(dirname "$0")/lib.sh"

read -r P1 P2 <<<"$(ports 2 | tr '\n' ' ')"

# refused PROGRAM-ARGS... '|' WHAT-IT-SAYS: the program, which would serve
# for ever if it took its options, must exit 2 within 5 s, saying that
refused() {
    local said=${*: -1} rc=0
    set -- "${@:1:$(($# - 1))}"
    timeout 5 "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
    expect_eq "$rc" 2 "exit code of '$*'"
    grep -qxF -- "$said" "$WORK/err" ||
        fail "'$*' said: $(cat "$WORK/err"), not: $said"
}

B=(--clients "tcp://127.0.0.1:$P1" --workers "tcp://127.0.0.1:$P2"
   --journal none)
while IFS='|' read -r opt value range; do
    refused "$BROKER" "${B[@]}" "$opt" "$value" \
        "sluice-broker: $opt '$value': give a whole number from $range"
done <<'EOF'
--heartbeat-ms|0|1 to 3600000
--heartbeat-ms|-5|1 to 3600000
--heartbeat-ms|1.5|1 to 3600000
--liveness|0|1 to 1000
--liveness|3x|1 to 1000
--keep-runs|0|1 to 1000000
--prefetch|4294967298|0 to 1000000
--prefetch||0 to 1000000
EOF

W=(--broker "tcp://127.0.0.1:$P2" --cache "lmdb://$WORK/cache")
while IFS='|' read -r opt value range; do
    refused "$WORKER" "${W[@]}" "$opt" "$value" \
        "sluice-worker: $opt '$value': give a whole number from $range"
done <<'EOF'
--slots|0|1 to 1024
--slots|1025|1 to 1024
--slots|4294967297|1 to 1024
--slots| 4|1 to 1024
--heartbeat-ms|0|1 to 3600000
--grace-ms|+100|1 to 3600000
--task-memory-mb|1e3|1 to 3600000
--task-cpu-s|-1|1 to 3600000
EOF

# the CLI: a bad --timeout, --count or --limit is refused before anything
# is asked of a broker or a cache (nothing listens on P1)
flow="$SLUICE_SRC/examples/seed.yaml"
while IFS='|' read -r args said; do
    # shellcheck disable=SC2086
    refused "$SLUICE" $args "$said"
done <<EOF
run --broker tcp://127.0.0.1:$P1 --timeout abc $flow|sluice run: --timeout 'abc': give a whole number from 1 to 3600000
run --broker tcp://127.0.0.1:$P1 --timeout 0 $flow|sluice run: --timeout '0': give a whole number from 1 to 3600000
status --broker tcp://127.0.0.1:$P1 --timeout 5s|sluice status: --timeout '5s': give a whole number from 1 to 3600000
cancel RUN --broker tcp://127.0.0.1:$P1 --timeout -1|sluice cancel: --timeout '-1': give a whole number from 1 to 3600000
status --watch --count 0|sluice status: --count '0': give a whole number from 1 to 1000000
cache ls --cache lmdb://$WORK/cache --limit ten|sluice cache: --limit 'ten': give a whole number from 1 to 100000000
EOF
[ ! -e "$WORK/cache" ] || fail "a refused worker or CLI made its cache"

# and in bounds they are taken, edge values included
start_broker --liveness 1000 --keep-runs 1 --prefetch 0
start_worker w1 --slots 1 --grace-ms 3600000 --task-memory-mb 3600000
wait_workers 1
out=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml" --timeout 3600000) ||
    fail "run with edge-value options: $out"
expect_eq "$(node "$out" total value)" 385 "result with edge-value options"
pass "bad numeric options: refused, named, nothing started"
