# tests/integration/test_credit_and_events.sh: a worker never holds more
# than its slots plus the broker's prefetch; every task's events reach the
# client in order (queued, started, done), and a repeat run's are "cached".
source "$(dirname "$0")/lib.sh"

start_redis
start_broker --prefetch 1
start_worker w1 --slots 2 --cache "$REDIS_URL"
wait_workers 1
printf 'flow: slow\ntasks:\n  nap:\n    run: sleep_ms\n    map: {x: [1,2,3,4,5,6,7,8,9,10]}\n    args: [150, $x]\n' \
    >"$WORK/slow.yaml"
"$SLUICE" run --broker "$BROKER_EP" --events --quiet "$WORK/slow.yaml" \
    >"$WORK/events.out" &
runner=$!
max=0
while kill -0 "$runner" 2>/dev/null; do
    held=$("$SLUICE" status --broker "$BROKER_EP" --json |
        jq '[.workers[].in_flight] | max // 0')
    [ "$held" -gt "$max" ] && max=$held
    sleep 0.05
done
wait "$runner" || fail "the slow run failed"
[ "$max" -le 3 ] || fail "worker held $max tasks; slots 2 + prefetch 1 = 3"
[ "$max" -ge 2 ] || fail "worker held at most $max tasks: slots left idle"

events=$(grep '^{"event"' "$WORK/events.out")
for i in $(seq 0 9); do
    seq_i=$(jq -r --argjson i "$i" 'select(.index == $i) | .event' \
        <<<"$events" | paste -sd, -)
    expect_eq "$seq_i" "queued,started,done" "events of element $i"
done
expect_eq "$(jq -r 'select(.event == "started") | .worker' <<<"$events" |
    sort -u)" w1 "worker named in started events"

run_json "$WORK/slow.yaml" >/dev/null # the repeat is served from Redis
"$SLUICE" run --broker "$BROKER_EP" --events --quiet "$WORK/slow.yaml" \
    >"$WORK/events2.out"
expect_eq "$(grep -c '"event":"cached"' "$WORK/events2.out")" 10 \
    "cached events on the repeat"
pass "credit respected (max $max in hand), events in order"
