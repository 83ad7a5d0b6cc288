# tests/integration/test_finished_runs.sh: a finished run keeps its summary
# and result for status and watchers, not its jobs: a broker that has run
# many large maps holds about what it held after the first.
source "$(dirname "$0")/lib.sh"

# Under ASan freed memory waits in a quarantine (256 MiB) before reuse.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1

start_redis
start_broker
start_worker w1 --cache "$REDIS_URL"
wait_workers 1

# whether the broker has given memory back, idle, since run $1 ended (a
# trim between two runs of a burst does not count)
trimmed_after() {
    awk -v run="run=$1 " 'index($0, run) && / done$/ { ended = NR }
        ended && NR > ended && /idle: memory given back/ { found = 1 }
        END { exit !found }' "$WORK/broker.log"
}
rss() { # the broker's memory once it is idle after run $1 and has given
    # back what the runs freed (each measure after the same step)
    for _ in $(seq 100); do
        trimmed_after "$1" && break
        sleep 0.1
    done
    trimmed_after "$1" || fail "the idle broker gave nothing back"
    "$SLUICE" status --broker "$BROKER_EP" --json | jq .broker.rss_bytes
}
wide() { # a 20,000-task map (misses the first time, hits after)
    run_json "$SLUICE_SRC/examples/wide.yaml" --param "n=[$(seq -s, 1 20000)]"
}

out=$(wide) || fail "first wide run failed: $out"
expect_eq "$(node "$out" squares tasks)" 20000 "tasks done in the first run"
first=$(rss "$(jq -r .run_id <<<"$out")")
for i in 1 2 3 4 5 6; do
    out=$(wide) || fail "wide run $i failed: $out"
done
last=$(rss "$(jq -r .run_id <<<"$out")")
grown=$(((last - first) / 1048576))
# each run's jobs took ~8 MiB while they were kept for its whole life,
# and its parameters 1.5 MiB (a 20,000-element list) until it was retired
[ "$grown" -lt 8 ] ||
    fail "broker memory grew $grown MiB over 6 finished runs of 20,000 tasks"

# idle after the burst, the broker gives back what the runs freed (glibc
# keeps it otherwise: on fdda4fe a broker kept its peak for good). Not
# under ASan, whose allocator keeps its own.
peak=$("$SLUICE" status --broker "$BROKER_EP" --json | jq .broker.peak_rss_bytes)
if ! ldd "$BROKER" | grep -q libasan; then
    [ "$last" -lt $((peak * 3 / 4)) ] ||
        fail "idle broker kept $((last >> 20)) MiB of its $((peak >> 20)) MiB peak"
fi

# what is kept still answers: the last run's result, for a watcher
id=$(jq -r .run_id <<<"$out")
watched=$("$SLUICE" watch "$id" --broker "$BROKER_EP" --json --quiet) ||
    fail "watch of a finished run failed: $watched"
expect_eq "$(jq -r .state <<<"$watched")" done "state of the watched run"
expect_eq "$(node "$watched" squares tasks)" 20000 "tasks done, as kept"
pass "6 finished runs of 20,000 tasks grew the broker $grown MiB"
