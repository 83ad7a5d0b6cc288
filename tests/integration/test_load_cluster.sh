#!/usr/bin/env bash
# tests/integration/test_load_cluster.sh: `sluice load` on a broker and
# real worker processes: the schedule split over the workers that run
# load@1, live figures on the broker's /metrics, `sluice cancel` with
# partial figures, a worker killed mid-test reported with its share, the
# --http-allow rules, and http@1 as a step of an ordinary flow.
source "$(dirname "$0")/lib.sh"

start_nginx
METRICS_PORT=$(ports 1)
start_broker --http "127.0.0.1:$METRICS_PORT"

# No worker runs load@1 yet: said, exit 3, nothing sent.
start_worker plain --slots 1
wait_workers 1
rc=0
"$SLUICE" load --broker "$BROKER_EP" "$NGINX_URL/" --rate 10 --duration 1s \
    2>"$WORK/none.err" || rc=$?
expect_eq "$rc" 3 "exit code with no load worker"
grep -q "no worker of .* runs load@1: start workers with --http-allow" \
    "$WORK/none.err" || fail "no load worker: $(cat "$WORK/none.err")"
pass "no worker runs load@1: said, exit 3"

start_worker w1 --slots 2 --http-allow "127.0.0.1:$NGINX_PORT"
start_worker w2 --slots 2 --http-allow "127.0.0.1:$NGINX_PORT"
wait_workers 3

load() { # load ARGS...: sluice load --broker --json, exit code in RC
    RC=0
    "$SLUICE" load --broker "$BROKER_EP" --json "$@" >"$WORK/out.json" \
        2>"$WORK/err.txt" || RC=$?
}

# 1. The schedule is split over the two load workers, one share each, at
#    the same absolute times: together they send it all.
load "$NGINX_URL/" --rate 400 --duration 2s
expect_eq "$RC" 0 "exit code of a cluster test"
out=$(cat "$WORK/out.json")
expect_eq "$(jq .shares <<<"$out")" 2 "shares (one per load worker)"
expect_eq "$(jq .sent <<<"$out")" 800 "requests sent by both shares"
expect_eq "$(jq '.status["200"]' <<<"$out")" 800 "200 answers"
ran=$("$SLUICE" status --broker "$BROKER_EP" --json |
    jq -r '[.workers[] | select(.done > 0) | .id] | sort | join(" ")')
expect_eq "$ran" "w1 w2" "the workers that ran a share"
pass "400/s for 2 s over 2 workers: 800 sent, each worker ran a share"

# 2. The broker's /metrics counts the requests as shares report them.
metrics=$(curl -sf "http://127.0.0.1:$METRICS_PORT/metrics")
grep -q '^sluice_load_requests_total{outcome="sent"} 800$' <<<"$metrics" ||
    fail "metrics: $(grep sluice_load <<<"$metrics")"
grep -q '^sluice_load_requests_total{outcome="answered"} 800$' \
    <<<"$metrics" || fail "answered not counted"
pass "/metrics: sluice_load_requests_total sent and answered"

# 3. `sluice cancel` from elsewhere stops every share within a second;
#    the figures reported so far are printed, exit 4.
before=$(access_lines)
"$SLUICE" load --broker "$BROKER_EP" --json "$NGINX_URL/" --rate 400 \
    --duration 60s >"$WORK/cancel.json" 2>"$WORK/cancel.err" &
load_pid=$!
wait_requests $((before + 1200))
run=$("$SLUICE" status --broker "$BROKER_EP" --json |
    jq -r '[.runs[] | select(.state == "running")][0].run_id')
"$SLUICE" cancel --broker "$BROKER_EP" "$run" >/dev/null
stopped=$(date +%s%N)
rc=0
wait "$load_pid" || rc=$?
expect_eq "$rc" 4 "exit code of a cancelled load"
out=$(cat "$WORK/cancel.json")
expect_eq "$(jq .cancelled <<<"$out")" true "cancelled flag"
[ "$(jq .sent <<<"$out")" -ge 600 ] || fail "partial figures: $out"
for _ in $(seq 20); do # every share stops within a second
    a=$(access_lines)
    sleep 0.1
    [ "$(access_lines)" = "$a" ] && break
done
took=$((($(date +%s%N) - stopped) / 1000000))
[ "$took" -lt 1500 ] || fail "requests still came $took ms after the cancel"
pass "sluice cancel: every share stopped within $took ms, partial figures"

# 4. A worker killed mid-test: its share is reported lost, with what it
#    reported before, and the rest of the figures stand; exit 1.
before=$(access_lines)
"$SLUICE" load --broker "$BROKER_EP" --json "$NGINX_URL/" --rate 200 \
    --duration 6s >"$WORK/lost.json" 2>"$WORK/lost.err" &
load_pid=$!
wait_requests $((before + 600))
w2_pid=$(pgrep -f -- "--id w2 ")
kill -9 "$w2_pid"
rc=0
wait "$load_pid" || rc=$?
expect_eq "$rc" 1 "exit code with a share lost"
out=$(cat "$WORK/lost.json")
expect_eq "$(jq '.lost_shares | length' <<<"$out")" 1 "lost shares"
expect_eq "$(jq -r '.lost_shares[0].worker' <<<"$out")" w2 "the lost worker"
expect_eq "$(jq '.lost_shares[0].reported' <<<"$out")" true \
    "its figures up to its last report are kept"
[ "$(jq .unreported <<<"$out")" -gt 0 ] || fail "unreported not counted"
[ "$(jq .sent <<<"$out")" -gt 600 ] || fail "w1's share missing: $out"
for i in "${!PIDS[@]}"; do # w2 is gone: cleanup must not wait for it
    [ "${PIDS[$i]}" = "$w2_pid" ] && unset 'PIDS[i]'
done
pass "a worker killed mid-test: its share reported lost, exit 1"

# 5. The rules: a worker sends only where --http-allow lets it.
cat >"$WORK/elsewhere.yaml" <<EOF
url: 'http://127.0.0.2:$NGINX_PORT/'
rate: 10
duration: 1s
EOF
load "$WORK/elsewhere.yaml"
expect_eq "$RC" 1 "exit code when the rules refuse the target"
grep -q "http://127.0.0.2:$NGINX_PORT is not allowed by this worker's --http-allow rules" \
    "$WORK/out.json" || fail "the refusal is not named: $(cat "$WORK/out.json")"
pass "a target the workers' rules do not allow is refused, named"

# 6. http@1 as a step of an ordinary flow.
cat >"$WORK/call.yaml" <<EOF
flow: call
tasks:
  get:
    run: http
    args: [{url: '$NGINX_URL/echo?x=1', method: PUT, headers: {X-User: ann}}]
    cache: none
  fail:
    run: http
    args: [{url: '$NGINX_URL/fail'}]
    cache: none
  any:
    run: http
    args: [{url: '$NGINX_URL/fail', any_status: true}]
    cache: none
EOF
rc=0
out=$(run_json "$WORK/call.yaml") || rc=$?
expect_eq "$rc" 1 "exit code of the flow with a failing call"
expect_eq "$(node "$out" get value | jq -r .body)" "PUT /echo?x=1 ann" \
    "the call's response body"
expect_eq "$(node "$out" get value | jq .status)" 200 "the call's status"
node "$out" fail error | grep -q "answered 500" || fail "500 not an error"
expect_eq "$(node "$out" any value | jq .status)" 500 "any_status: true"
pass "http@1 in a flow: status and body; a 500 fails unless any_status"

# 7. http@1's bad arguments fail their task, naming what is wrong.
cat >"$WORK/badcall.yaml" <<EOF
flow: badcall
tasks:
  nourl: {run: http, args: [{method: GET}], cache: none}
  field: {run: http, args: [{url: '$NGINX_URL/', verb: GET}], cache: none}
  heads: {run: http, args: [{url: '$NGINX_URL/', headers: [a]}], cache: none}
  crlf: {run: http, args: [{url: '$NGINX_URL/', headers: {X: "a\nb"}}], cache: none}
  body: {run: http, args: [{url: '$NGINX_URL/', body: 5}], cache: none}
  wait: {run: http, args: [{url: '$NGINX_URL/', timeout_ms: 0}], cache: none}
  flag: {run: http, args: [{url: '$NGINX_URL/', insecure: 1}], cache: none}
  where: {run: http, args: [{url: 'file:///etc/passwd'}], cache: none}
  two: {run: http, args: [{url: '$NGINX_URL/'}, 2], cache: none}
  share: {run: load, args: [{}, 0, 1], cache: none}
  scenario: {run: load, args: [{rate: 1, duration: 1s}, 0, 1, 0], cache: none}
EOF
out=$(run_json "$WORK/badcall.yaml") || true
check_error() { # check_error NODE TEXT
    node "$out" "$1" error | grep -qF -- "$2" ||
        fail "node $1 said $(node "$out" "$1" error), not '$2'"
}
check_error nourl "http: 'url' is missing or not a string"
check_error field "http: unknown field 'verb'"
check_error heads "http: 'headers' must be a map"
check_error crlf "http: header 'X' must be a name and a string of one line"
check_error body "http: 'body' must be a string or bytes"
check_error wait "http: 'timeout_ms' must be an integer >= 1"
check_error flag "http: 'insecure' must be true or false"
check_error where "must start with http:// or https://"
check_error two "http: takes one argument"
check_error share "load: takes a scenario, the share's index"
check_error scenario "load: requests: missing"
pass "http@1's and load@1's bad arguments: each fails naming what is wrong"
