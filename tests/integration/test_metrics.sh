# tests/integration/test_metrics.sh: /metrics, /healthz and /readyz of a
# real broker and two workers: every page parses as the Prometheus text
# format (and passes `promtool check metrics` where promtool is
# installed), the counters match the figures of the runs that were made,
# the gauges match the cluster, readiness follows the broker, and bad
# --http addresses are clear errors.
source "$(dirname "$0")/lib.sh"

CHECK="$SLUICE_SRC/tests/integration/check_metrics.awk"

get() { # get PORT PATH: the body; fails on anything but 200
    curl -sf --max-time 5 "http://127.0.0.1:$1$2" ||
        fail "GET :$1$2 did not answer 200"
}

status_of() { # status_of PORT PATH [curl options]: the HTTP status
    local port=$1 path=$2
    shift 2
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" \
        "http://127.0.0.1:$port$path" || true
}

metric() { # metric FILE 'name{labels}': its value (0 if absent)
    awk -v want="$2" '$1 == want { v = $2 } END { print v + 0 }' "$1"
}

sum_metric() { # sum_metric 'name{labels}' FILE...: summed over the files
    local total=0 f
    for f in "${@:2}"; do
        total=$((total + $(metric "$f" "$1")))
    done
    echo "$total"
}

check_page() { # check_page FILE WHAT
    awk -f "$CHECK" "$1" >"$WORK/check.out" ||
        fail "$2 /metrics does not parse: $(head -n 5 "$WORK/check.out")"
    if command -v promtool >/dev/null; then
        promtool check metrics <"$1" >"$WORK/lint.out" 2>&1 ||
            fail "$2 /metrics: promtool: $(head -n 5 "$WORK/lint.out")"
    fi
}

scrape() { # scrape: broker.txt, w1.txt, w2.txt in $WORK, each checked
    get "$HB" /metrics >"$WORK/broker.txt"
    get "$H1" /metrics >"$WORK/w1.txt"
    get "$H2" /metrics >"$WORK/w2.txt"
    check_page "$WORK/broker.txt" broker
    check_page "$WORK/w1.txt" "worker w1"
    check_page "$WORK/w2.txt" "worker w2"
}

command -v promtool >/dev/null ||
    echo "note: promtool not installed: the pages are checked by" \
        "check_metrics.awk only"

start_redis
read -r HB H1 H2 <<<"$(ports 3 | tr '\n' ' ')"
start_broker --http "127.0.0.1:$HB"
export SLUICE_TEST_CALLS="$WORK/calls"
start_worker w1 --tasks "$TEST_PLUGIN" --cache "$REDIS_URL" --slots 2 \
    --http "127.0.0.1:$H1"
start_worker w2 --tasks "$TEST_PLUGIN" --cache "$REDIS_URL" --slots 1 \
    --http "127.0.0.1:$H2"
wait_workers 2

# health and readiness; other paths and methods
for port in "$HB" "$H1" "$H2"; do
    expect_eq "$(get "$port" /healthz)" ok "/healthz on :$port"
    expect_eq "$(get "$port" /readyz)" ready "/readyz on :$port"
    expect_eq "$(status_of "$port" /nothing)" 404 "unknown path on :$port"
    expect_eq "$(status_of "$port" /metrics -X POST)" 405 "POST on :$port"
done

# before any run: every page parses, counters are at zero
scrape
expect_eq "$(metric "$WORK/broker.txt" sluice_runs_submitted_total)" 0 \
    "runs before any"
expect_eq "$(metric "$WORK/broker.txt" sluice_workers_connected)" 2 \
    "workers connected"
expect_eq "$(metric "$WORK/broker.txt" sluice_cluster_slots)" 3 \
    "slots over both workers"
grep -q '^sluice_build_info{version="[0-9.]*",role="broker"} 1$' \
    "$WORK/broker.txt" || fail "no sluice_build_info on the broker"
grep -q '^process_resident_memory_bytes [1-9]' "$WORK/w1.txt" ||
    fail "no process_resident_memory_bytes on the worker"

# the map/reduce example twice (computed, then cache hits), a task that
# fails twice then succeeds, and one that fails for good
first=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml") || fail "first run"
second=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml") || fail "second run"
cat >"$WORK/flaky.yaml" <<'YAML'
flow: flaky
tasks:
  shaky:
    run: flaky
    args: [m, 2]
    retries: 3
    retry_delay: 10ms
    cache: none
YAML
cat >"$WORK/fails.yaml" <<'YAML'
flow: fails
tasks:
  bad:
    run: flaky
    args: [n, 5]
    retries: 1
    retry_delay: 10ms
    cache: none
YAML
run_json "$WORK/flaky.yaml" >/dev/null || fail "the flaky run failed"
rc=0
run_json "$WORK/fails.yaml" >"$WORK/fails.json" || rc=$?
expect_eq "$rc" 1 "exit code of the failing run"

scrape
B="$WORK/broker.txt"
# the runs' own figures
tasks=$(jq '[.nodes[].tasks] | add' <<<"$first")
hits=$(jq '[.nodes[].cached] | add' <<<"$second")
expect_eq "$tasks" 12 "tasks of one map/reduce run (10 + sum + report)"
expect_eq "$hits" 11 "cache hits of the second run (report is cache: none)"
expect_eq "$(metric "$B" sluice_runs_submitted_total)" 4 "runs submitted"
expect_eq "$(metric "$B" 'sluice_runs_finished_total{state="done"}')" 3 \
    "runs done"
expect_eq "$(metric "$B" 'sluice_runs_finished_total{state="failed"}')" 1 \
    "runs failed"
expect_eq "$(metric "$B" 'sluice_runs{state="done"}')" 3 "runs held, done"
expect_eq "$(metric "$B" 'sluice_tasks_dispatched_total{task="mul"}')" 20 \
    "mul dispatched over both runs"
expect_eq "$(metric "$B" 'sluice_tasks_completed_total{task="mul"}')" 20 \
    "mul completed"
expect_eq "$(metric "$B" 'sluice_cache_results_total{result="hit"}')" \
    "$hits" "broker: cache hits = the second run's cached tasks"
expect_eq "$(metric "$B" 'sluice_cache_results_total{result="miss"}')" 11 \
    "broker: cache misses (the first run's cached-mode tasks)"
expect_eq "$(metric "$B" 'sluice_tasks_dispatched_total{task="flaky"}')" 5 \
    "flaky attempts (3, then 2)"
expect_eq "$(metric "$B" \
    'sluice_tasks_retried_total{task="flaky",reason="error"}')" 3 \
    "flaky retries (2, then 1)"
expect_eq "$(metric "$B" 'sluice_tasks_completed_total{task="flaky"}')" 1 \
    "flaky completed"
expect_eq "$(metric "$B" 'sluice_tasks_failed_total{task="flaky"}')" 1 \
    "flaky failed for good"
dispatched=$(awk '/^sluice_tasks_dispatched_total/ { s += $2 } END { print s }' "$B")
expect_eq "$dispatched" $((2 * tasks + 5)) "tasks dispatched in all"
expect_eq "$(metric "$B" sluice_task_latency_seconds_count)" "$dispatched" \
    "one latency observation per result"
expect_eq "$(metric "$B" sluice_tasks_outstanding)" 0 "outstanding at rest"
expect_eq "$(metric "$B" sluice_tasks_in_flight)" 0 "in flight at rest"

# the workers' side adds up to the broker's
W=("$WORK/w1.txt" "$WORK/w2.txt")
expect_eq "$(sum_metric 'sluice_worker_tasks_total{task="mul",outcome="ok"}' \
    "${W[@]}")" 10 "workers: mul computed"
expect_eq "$(sum_metric \
    'sluice_worker_tasks_total{task="mul",outcome="cached"}' "${W[@]}")" 10 \
    "workers: mul from the cache"
expect_eq "$(sum_metric \
    'sluice_worker_tasks_total{task="flaky",outcome="error"}' "${W[@]}")" 4 \
    "workers: flaky errors"
expect_eq "$(sum_metric 'sluice_cache_requests_total{op="get",result="hit"}' \
    "${W[@]}")" "$hits" "workers: cache get hits"
expect_eq "$(sum_metric 'sluice_cache_requests_total{op="get",result="miss"}' \
    "${W[@]}")" 11 "workers: cache get misses"
expect_eq "$(sum_metric 'sluice_cache_requests_total{op="set",result="ok"}' \
    "${W[@]}")" 11 "workers: entries stored"
expect_eq "$(sum_metric sluice_worker_connected "${W[@]}")" 2 \
    "workers connected, as they see it"
expect_eq "$(metric "$WORK/w1.txt" sluice_cache_up)" 1 "cache up"

# `sluice status` shows the same counters, once and live
st=$("$SLUICE" status --broker "$BROKER_EP" --json)
expect_eq "$(jq .broker.tasks_dispatched <<<"$st")" "$dispatched" \
    "status: tasks dispatched"
expect_eq "$(jq .broker.tasks_cached <<<"$st")" "$hits" "status: cached"
expect_eq "$(jq -r .broker.http <<<"$st")" "127.0.0.1:$HB" "status: http"
"$SLUICE" status --broker "$BROKER_EP" --watch --interval 0.2 --count 2 \
    >"$WORK/watch.out" || fail "status --watch failed"
expect_eq "$(grep -c '^----$' "$WORK/watch.out")" 2 "frames drawn"
grep -q "tasks_dispatched *$dispatched  *0.0/s" "$WORK/watch.out" ||
    fail "status --watch: no rate line: $(head -n 5 "$WORK/watch.out")"
rc=0
"$SLUICE" status --broker "$BROKER_EP" --watch --count 0 2>"$WORK/err" ||
    rc=$?
expect_eq "$rc" 2 "exit code of --count 0"
grep -q "\-\-count '0'" "$WORK/err" || fail "--count 0: $(cat "$WORK/err")"

# bad --http addresses name themselves; a port in use says so
rc=0
"$BROKER" --clients "tcp://127.0.0.1:$(ports 1)" --journal none \
    --workers "tcp://127.0.0.1:$(ports 1)" --http nonsense 2>"$WORK/err" ||
    rc=$?
expect_eq "$rc" 1 "broker exit code with --http nonsense"
grep -q "HTTP address 'nonsense': want \[HOST:\]PORT" "$WORK/err" ||
    fail "broker --http nonsense: $(cat "$WORK/err")"
rc=0
"$WORKER" --broker "$WORKERS_EP" --http "127.0.0.1:$HB" 2>"$WORK/err" ||
    rc=$?
expect_eq "$rc" 1 "worker exit code with a port in use"
grep -q "HTTP address '127.0.0.1:$HB': Address already in use" "$WORK/err" ||
    fail "worker --http in use: $(cat "$WORK/err")"

# the broker goes: the workers are not ready; /healthz still answers
stop_pid "${PIDS[1]}" || fail "broker did not stop cleanly"
for _ in $(seq 100); do # the worker's liveness: 3 heartbeats of 1 s
    [ "$(status_of "$H1" /readyz)" = 503 ] && break
    sleep 0.1
done
expect_eq "$(status_of "$H1" /readyz)" 503 "worker /readyz without a broker"
curl -s "http://127.0.0.1:$H1/readyz" | grep -q "not connected" ||
    fail "worker /readyz does not say why"
expect_eq "$(get "$H1" /healthz)" ok "worker /healthz without a broker"
# `sluice health`, what the image's HEALTHCHECK runs, says the same
"$SLUICE" health "$H1" >/dev/null || fail "sluice health: worker not healthy"
rc=0; SLUICE_HTTP="127.0.0.1:$H1" "$SLUICE" health --ready 2>"$WORK/err" ||
    rc=$?
expect_eq "$rc" 1 "sluice health --ready exit code without a broker"
grep -q "127.0.0.1:$H1/readyz: 503 not connected" "$WORK/err" ||
    fail "sluice health --ready: $(cat "$WORK/err")"
# bad arguments: exit 2, saying what is wrong
while IFS='|' read -r args said; do
    rc=0
    # shellcheck disable=SC2086
    SLUICE_HTTP='' "$SLUICE" health $args 2>"$WORK/err" || rc=$?
    expect_eq "$rc" 2 "sluice health '$args' exit code"
    grep -qF -- "$said" "$WORK/err" ||
        fail "sluice health '$args' said: $(cat "$WORK/err")"
done <<'EOF'
|give the HTTP port to ask
x:y|HTTP address 'x:y': want [HOST:]PORT
0|give the port to ask, not 0
--timeout-ms|--timeout-ms needs a number of milliseconds
--timeout-ms 0 9090|--timeout-ms '0': give a whole number from 1 to 600000
--bogus 9090|unexpected argument '--bogus'
9090 9091|unexpected argument '9091'
EOF
rc=0; "$SLUICE" health "127.0.0.1:$HB" 2>"$WORK/err" || rc=$?
expect_eq "$rc" 3 "sluice health exit code with nothing listening"
grep -q "Connection refused" "$WORK/err" ||
    fail "sluice health, nothing listening: $(cat "$WORK/err")"
get "$H1" /metrics >"$WORK/w1.txt"
expect_eq "$(metric "$WORK/w1.txt" sluice_worker_connected)" 0 \
    "worker connected gauge without a broker"
pass "metrics: pages parse, counters match the runs, readiness follows"
