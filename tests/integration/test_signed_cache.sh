# tests/integration/test_signed_cache.sh: signed cache entries across real
# workers and redis-server. A worker with --sign-key signs what it stores;
# with --trust it takes only entries signed by a trusted key for that very
# cache key: an entry tampered with in Redis, copied to another key,
# stripped of its signature, signed by a key not trusted, or put back
# after its signed expiry is a miss (computed again), counted by reason on
# /metrics. Bad key files stop the worker at start with the file's name.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/keys" "$WORK/trust"
"$SLUICE" keygen --sign "$WORK/keys/one" "$WORK/keys/rogue" >/dev/null ||
    fail "keygen --sign failed"
[ "$(stat -c %a "$WORK/keys/one.sign.key")" = 600 ] ||
    fail "the signing key is not mode 0600"
cp "$WORK/keys/one.sign.pub" "$WORK/trust/"

start_redis
start_broker
HP=$(ports 1)

start_signer() { # start_signer ID KEY: a worker signing with KEY, trusting
    start_worker "$1" --cache "$REDIS_URL" --sign-key "$2" \
        --trust "$WORK/trust" --http "127.0.0.1:$HP"
    WPID=${PIDS[-1]}
    wait_workers 1
}

rejected() { # rejected REASON: the worker's count of refused entries
    curl -sf "http://127.0.0.1:$HP/metrics" | awk -v want=\
"sluice_cache_entries_rejected_total{reason=\"$1\"}" \
        '$1 == want { v = $2 } END { print v + 0 }'
}

lua() { # lua SCRIPT KEY...: runs a Lua script in Redis on the keys
    local script=$1
    shift
    rcli --raw eval "$script" "$#" "$@" >/dev/null
}

flow() { # flow FILE KEY VALUE [TTL]: an echo of VALUE cached under KEY
    cat >"$1" <<YAML
flow: signed
cache:
  ttl: ${4:-1h}
tasks:
  say:
    run: echo
    args: ["$3"]
    cache_key: $2
YAML
}

run_say() { # run_say FILE: "VALUE CACHED" of the run
    local out
    out=$(run_json "$1") || fail "run of $1 failed"
    echo "$(node "$out" say value | jq -r .) $(node "$out" say cached)"
}

flow "$WORK/a.yaml" sig-a genuine-result
flow "$WORK/b.yaml" sig-b genuine-result
KEY_A=sluice:v1:default:sig-a
KEY_B=sluice:v1:default:sig-b

start_signer one "$WORK/keys/one.sign.key"
expect_eq "$(run_say "$WORK/a.yaml")" "genuine-result 0" "first run computes"
expect_eq "$(run_say "$WORK/a.yaml")" "genuine-result 1" "signed entry is a hit"
got=$("$SLUICE" cache get "$KEY_A" --cache "$REDIS_URL" --json) ||
    fail "a signed entry does not decode for sluice cache get"
expect_eq "$(jq -r .value <<<"$got")" genuine-result "sluice cache get"

# tampered in Redis (same length, so it still decodes): a miss
lua "local v = redis.call('GET', KEYS[1])
     redis.call('SET', KEYS[1], (string.gsub(v, 'genuine', 'forged!')), 'KEEPTTL')" \
    "$KEY_A"
rcli --raw get "$KEY_A" | grep -q 'forged!-result' || fail "tampering did not take"
expect_eq "$(run_say "$WORK/a.yaml")" "genuine-result 0" \
    "a tampered entry is computed again"
expect_eq "$(rejected bad_signature)" 1 "tampered entries counted"
expect_eq "$(run_say "$WORK/a.yaml")" "genuine-result 1" \
    "the entry stored again is a hit"

# the same signed bytes under another key: a miss
lua "redis.call('SET', KEYS[2], redis.call('GET', KEYS[1]))" "$KEY_A" "$KEY_B"
expect_eq "$(run_say "$WORK/b.yaml")" "genuine-result 0" \
    "an entry copied from another key is computed again"
expect_eq "$(rejected other_key)" 1 "copied entries counted"
expect_eq "$(rejected bad_signature)" 1 "and not as tampered"

# its signature cut off: a miss
lua "local v = redis.call('GET', KEYS[1])
     redis.call('SET', KEYS[1], string.sub(v, 1, -101))" "$KEY_A"
expect_eq "$(run_say "$WORK/a.yaml")" "genuine-result 0" \
    "an unsigned entry is computed again"
expect_eq "$(rejected unsigned)" 1 "unsigned entries counted"

# put back after its signed expiry (Redis had dropped it): a miss
flow "$WORK/short.yaml" sig-short short-lived 1s
expect_eq "$(run_say "$WORK/short.yaml")" "short-lived 0" "short-lived entry"
lua "redis.call('SET', 'saved', redis.call('GET', KEYS[1]))" \
    sluice:v1:default:sig-short
sleep 1.2
expect_eq "$(rcli exists sluice:v1:default:sig-short)" 0 "Redis expired it"
lua "redis.call('SET', KEYS[1], redis.call('GET', 'saved'))" \
    sluice:v1:default:sig-short
expect_eq "$(run_say "$WORK/short.yaml")" "short-lived 0" \
    "an entry replayed past its expiry is computed again"
expect_eq "$(rejected expired)" 1 "expired replays counted"

# signed by a key not trusted: a miss
stop_pid "$WPID" || fail "worker one did not stop cleanly"
rcli del "$KEY_A" >/dev/null
start_worker rogue --cache "$REDIS_URL" --sign-key "$WORK/keys/rogue.sign.key"
ROGUE=${PIDS[-1]}
wait_workers 1
expect_eq "$(run_say "$WORK/a.yaml")" "genuine-result 0" "rogue computes"
expect_eq "$(run_say "$WORK/a.yaml")" "genuine-result 1" \
    "a worker without --trust takes any entry"
stop_pid "$ROGUE" || fail "worker rogue did not stop cleanly"
start_signer one "$WORK/keys/one.sign.key"
expect_eq "$(run_say "$WORK/a.yaml")" "genuine-result 0" \
    "an entry of an untrusted key is computed again"
expect_eq "$(rejected untrusted)" 1 "untrusted entries counted"
grep -q "key=$KEY_A entry refused, treated as a miss: it is signed by a key not trusted" \
    "$WORK/one.log" || fail "the refusal is not logged"

# bad key files stop the worker at start, naming the file
rc=0
"$WORKER" --broker "$WORKERS_EP" --trust "$WORK/nope" 2>"$WORK/err" || rc=$?
expect_eq "$rc" 1 "exit code with a missing --trust folder"
grep -q "trusted keys '$WORK/nope'" "$WORK/err" || fail "--trust: $(cat "$WORK/err")"
rc=0
"$WORKER" --broker "$WORKERS_EP" --sign-key "$WORK/keys/one.sign.pub" \
    2>"$WORK/err" || rc=$?
expect_eq "$rc" 1 "exit code with a public key as --sign-key"
grep -q "signing key '$WORK/keys/one.sign.pub': no secret-key" "$WORK/err" ||
    fail "--sign-key: $(cat "$WORK/err")"
rc=0
"$SLUICE" keygen --sign "$WORK/keys/one" 2>"$WORK/err" || rc=$?
expect_eq "$rc" 1 "keygen over an existing key"
grep -q "already exists" "$WORK/err" || fail "keygen: $(cat "$WORK/err")"
pass "signed cache: tampered, copied, unsigned, expired, untrusted entries are misses"
