# tests/integration/test_bench.sh: `sluice bench` runs every workload with
# a tiny N against real processes and checks each one's results (a wrong or
# lost result fails the bench); --json carries every figure and its limit;
# bad arguments are refused with a message that names them. Correctness
# only: no timing is asserted here (docs/PERFORMANCE.md has the figures).
source "$(dirname "$0")/lib.sh"

start_redis
start_broker
start_worker w1 --cache "$REDIS_URL" --exec /bin/echo
start_worker w2 --cache "$REDIS_URL" --exec /bin/echo
wait_workers 2

out=$("$SLUICE" bench all --broker "$BROKER_EP" --cache "$REDIS_URL" \
    --tasks 50 --rate 200 --duration 500ms --json) || fail "bench all: $out"
expect_eq "$(jq -r '[.results[].workload] | join(",")' <<<"$out")" \
    "fanout,cached,chain,latency,rate,wide,spawn,spawncached" "workloads run"
expect_eq "$(jq '[.results[] | select(.error != "")] | length' <<<"$out")" 0 \
    "workloads with an error"
expect_eq "$(jq '.results[0].tasks' <<<"$out")" 50 "fanout tasks"
expect_eq "$(jq '.results[4].tasks' <<<"$out")" 100 "rate runs (200/s for 0.5 s)"
expect_eq "$(jq '.results[4].lost' <<<"$out")" 0 "rate runs lost"
for f in zmq_rtt_us zmq_rate_per_s get_per_s get_pipelined_per_s set_per_s \
    set_pipelined_per_s spawn_per_s; do
    jq -e ".limits.$f > 0" <<<"$out" >/dev/null || fail "limit $f: $out"
done
jq -e '[.results[] | .ratio > 0] | all' <<<"$out" >/dev/null ||
    fail "a ratio is missing: $out"
jq -e '.results[3].p50_us > 0 and .results[3].p999_us >= .results[3].p50_us' \
    <<<"$out" >/dev/null || fail "latency percentiles: $out"
expect_eq "$(jq '.results[6].tasks' <<<"$out")" 50 "spawn tasks"
expect_eq "$(jq '.results[7].tasks' <<<"$out")" 50 "spawncached tasks"
# spawn's programs stored theirs too: one entry per task, of exec
[ "$(rcli --scan --pattern 'sluice:v1:bench:exec:*' | wc -l)" -ge 100 ] ||
    fail "the bench's program entries are not in Redis"
# fanout stored its results in Redis under the bench's namespace
[ "$(rcli --scan --pattern 'sluice:v1:bench:echo:*' | wc -l)" -ge 100 ] ||
    fail "the bench's entries are not in Redis"

# the table for people, and --no-cache
table=$("$SLUICE" bench fanout --broker "$BROKER_EP" --tasks 20 --no-cache \
    --no-limits) || fail "bench fanout --no-cache: $table"
grep -q "^fanout  *20 " <<<"$table" || fail "no fanout row: $table"

# --local starts its own broker and workers
out=$("$SLUICE" bench cached --local --tasks 30 --json --no-limits) ||
    fail "bench --local: $out"
expect_eq "$(jq '.results[0].tasks' <<<"$out")" 30 "local cached tasks"

# bad arguments: exit 2, and the message names what was wrong
expect_refused() { # expect_refused PATTERN ARGS...
    local pattern=$1 rc=0 msg
    shift
    msg=$("$SLUICE" bench "$@" 2>&1) || rc=$?
    expect_eq "$rc" 2 "exit code of bench $*"
    grep -q -- "$pattern" <<<"$msg" || fail "bench $*: said '$msg'"
}
expect_refused "unknown workload 'fast'" fast
expect_refused "give one workload"
expect_refused "\-\-tasks '0'" fanout --tasks 0
expect_refused "\-\-tasks '12x'" fanout --tasks 12x
expect_refused "\-\-rate '-5'" rate --rate -5
expect_refused "\-\-duration 'soon'" rate --duration soon
expect_refused "at most 10000 nodes" chain --tasks 20000
pass "bench: every workload right with a tiny N; bad arguments refused"
