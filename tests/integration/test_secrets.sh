# tests/integration/test_secrets.sh: a Redis password never shows: not in
# any log line, not on /metrics, not in status or a run's result, whether
# it comes in $SLUICE_CACHE_URL, in $SLUICE_REDIS_PASSWORD or in a flow's
# cache.url, and whether the cache works or refuses it. On fdda4fe the
# worker's start-up line printed $SLUICE_CACHE_URL whole.
source "$(dirname "$0")/lib.sh"

SECRET=correct-horse-battery-staple
WRONG=wrong-horse-battery-staple
REDIS_PORT=$(ports 1)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
    --appendonly no --requirepass "$SECRET" >>"$WORK/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
    redis-cli -p "$REDIS_PORT" -a "$SECRET" --no-auth-warning ping \
        >/dev/null 2>&1 && break
    sleep 0.05
done
read -r bhttp w1http w2http <<<"$(ports 3 | tr '\n' ' ')"

start_broker --http "127.0.0.1:$bhttp"
# a worker whose password is wrong: every cache call fails, and says so
SLUICE_CACHE_URL="redis://default:$WRONG@127.0.0.1:$REDIS_PORT/0" \
    start_worker w2 --http "127.0.0.1:$w2http"
wait_workers 1
out=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml") ||
    fail "run with the wrong password failed: $out"
echo "$out" >"$WORK/run.out"
expect_eq "$(node "$out" squares cache_errors)" 10 "cache errors with the wrong password"
grep -q "default:\*\*\*@.*WRONGPASS" "$WORK/run.out" ||
    fail "the cache error does not say what failed: $out"

SLUICE_CACHE_URL="redis://:$SECRET@127.0.0.1:$REDIS_PORT/0" \
    start_worker w1 --http "127.0.0.1:$w1http"
wait_workers 2
wait_log "cache=redis://:\*\*\*@127.0.0.1:$REDIS_PORT/0" "$WORK/w1.log" \
    "w1's start-up line does not show its cache with the password hidden"
out=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml" \
    --param "numbers=[$(seq -s, 1 100)]" --events) ||
    fail "run with a password-protected cache failed: $out"
echo "$out" >>"$WORK/run.out"
# a flow that names a cache with a password of its own (no worker --cache
# here: w1 and w2 have theirs, so start one without)
start_worker w3
wait_workers 3
printf 'flow: own\ncache:\n  url: redis://:%s@127.0.0.1:%s/1\ntasks:\n  a: {run: add, args: [40, 2]}\n' \
    "$SECRET" "$REDIS_PORT" >"$WORK/own.yaml"
out=$(run_json "$WORK/own.yaml") || fail "a flow with its own cache: $out"
echo "$out" >>"$WORK/run.out"
# a bad URL in a flow: its error names the URL, password hidden
printf 'flow: bad\ncache:\n  url: redis://:%s@127.0.0.1:0/1\ntasks:\n  a: {run: add, args: [1, 2]}\n' \
    "$SECRET" >"$WORK/bad.yaml"
run_json "$WORK/bad.yaml" >>"$WORK/run.out" 2>&1 || true

"$SLUICE" status --broker "$BROKER_EP" --json >"$WORK/status.out"
"$SLUICE" status --broker "$BROKER_EP" >>"$WORK/status.out"
for port in $bhttp $w1http $w2http; do
    curl -sf "http://127.0.0.1:$port/metrics" >>"$WORK/metrics.out" ||
        fail "no /metrics on port $port"
done
SLUICE_CACHE_URL="redis://:$SECRET@127.0.0.1:$REDIS_PORT/0" \
    "$SLUICE" cache stats >"$WORK/cache.out" 2>&1 ||
    fail "cache stats: $(cat "$WORK/cache.out")"
grep -q "redis://:\*\*\*@" "$WORK/cache.out" || fail "cache stats: $(cat "$WORK/cache.out")"

for f in "$WORK"/*.log "$WORK"/*.out; do
    [ "$f" = "$WORK/redis.log" ] && continue
    if grep -q -e "$SECRET" -e "$WRONG" "$f"; then
        fail "a password shows in $(basename "$f"): $(grep -m1 -e "$SECRET" -e "$WRONG" "$f")"
    fi
done
pass "no password in logs, /metrics, status, results or cache stats"
