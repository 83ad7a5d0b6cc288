# tests/integration/test_cache_keys.sh: explicit cache_key vs inputs keys,
# TTL expiry, a version bump and refresh: true, against real processes.
source "$(dirname "$0")/lib.sh"

start_redis
start_broker
export SLUICE_TEST_CALLS="$WORK/calls"
start_worker w1 --tasks "$TEST_PLUGIN" --cache "$REDIS_URL"
start_worker w2 --tasks "$TEST_PLUGIN" --cache "$REDIS_URL"
wait_workers 2

flow() { # flow FILE NODE-OPTIONS: one node "n", args [7] unless the options
    # give others
    local args='    args: [7]'
    grep -q 'args:' <<<"$2" && args=''
    printf 'flow: keys\ntasks:\n  n:\n%s\n%s\n' "$args" "$2" >"$WORK/$1"
    echo "$WORK/$1"
}

# inputs key: sluice:v1:<ns>:counted:<64 hex>; explicit: the key as given
out=$(run_json "$(flow inputs.yaml '    run: counted@1')")
expect_eq "$(node "$out" n value)" 7 "counted@1(7)"
keys=$(rcli --scan --pattern 'sluice:v1:default:counted:*')
[[ "$keys" =~ ^sluice:v1:default:counted:[0-9a-f]{64}$ ]] ||
    fail "inputs key has the wrong form: '$keys'"
out=$(run_json "$(flow explicit.yaml "$(printf '    run: counted@1\n    cache_key: my-key')")")
expect_eq "$(rcli exists sluice:v1:default:my-key)" 1 "explicit key stored"
expect_eq "$(calls "$WORK/calls")" 2 "two different keys, two computations"

# the same inputs again: a hit, no call
out=$(run_json "$WORK/inputs.yaml")
expect_eq "$(node "$out" n cached)" 1 "repeat is a hit"
expect_eq "$(calls "$WORK/calls")" 2 "a hit does not compute"

# a new version of the task: a new key, a miss, the new code's answer
out=$(run_json "$(flow v2.yaml '    run: counted@2')")
expect_eq "$(node "$out" n cached)" 0 "version bump misses"
expect_eq "$(node "$out" n value)" 14 "counted@2(7)"
expect_eq "$(tail -n 1 "$WORK/calls")" counted@2 "version that computed"
# and the old version's entry is still served to old code
out=$(run_json "$WORK/inputs.yaml")
expect_eq "$(node "$out" n value)" 7 "counted@1 still cached"
expect_eq "$(node "$out" n cached)" 1 "counted@1 still a hit"

# refresh: true skips the lookup, recomputes and overwrites
before=$(calls "$WORK/calls")
out=$(run_json "$(flow refresh.yaml "$(printf '    run: counted@1\n    refresh: true')")")
expect_eq "$(node "$out" n cached)" 0 "refresh is not a hit"
expect_eq "$(calls "$WORK/calls")" $((before + 1)) "refresh recomputes"

# TTL: the entry carries the node's TTL on Redis; once Redis has expired
# it (made to expire at once here, instead of waiting), it is a miss
out=$(run_json "$(flow ttl.yaml "$(printf '    run: counted@1\n    args: [8]\n    ttl: 1h')")")
ttl_key=$(rcli --scan --pattern 'sluice:v1:default:counted:*' |
    while read -r k; do
        t=$(rcli pttl "$k")
        if [ "$t" -gt 3000000 ] && [ "$t" -le 3600000 ]; then echo "$k"; fi
    done | head -n 1)
[ -n "$ttl_key" ] || fail "no entry with the node's 1 h TTL on Redis"
out=$(run_json "$WORK/ttl.yaml")
expect_eq "$(node "$out" n cached)" 1 "hit before expiry"
rcli pexpire "$ttl_key" 1 >/dev/null
for _ in $(seq 100); do # until Redis has let it expire
    [ "$(rcli exists "$ttl_key")" = 0 ] && break
    sleep 0.05
done
expect_eq "$(rcli exists "$ttl_key")" 0 "the entry expired in Redis"
before=$(calls "$WORK/calls")
out=$(run_json "$WORK/ttl.yaml")
expect_eq "$(node "$out" n cached)" 0 "miss after expiry"
expect_eq "$(calls "$WORK/calls")" $((before + 1)) "expired entry recomputed"

# cache: none neither looks up nor stores
before=$(rcli dbsize)
out=$(run_json "$(flow none.yaml "$(printf '    run: counted@1\n    args: [9]\n    cache: none')")")
out=$(run_json "$WORK/none.yaml")
expect_eq "$(node "$out" n cached)" 0 "cache: none never hits"
expect_eq "$(rcli dbsize)" "$before" "cache: none stores nothing"
# an explicit key is served whatever the inputs, unless validate: inputs
run_json "$(flow k7.yaml "$(printf '    run: counted@1\n    cache_key: shared')")" >/dev/null
out=$(run_json "$(flow k8.yaml "$(printf '    run: counted@1\n    args: [8]\n    cache_key: shared')")")
expect_eq "$(node "$out" n value)" 7 "explicit key, other inputs, no validate"
out=$(run_json "$(flow k8v.yaml "$(printf '    run: counted@1\n    args: [8]\n    cache_key: shared\n    validate: inputs')")")
expect_eq "$(node "$out" n cached)" 0 "validate: inputs, other inputs"
expect_eq "$(node "$out" n value)" 8 "validate: inputs recomputes"

# a corrupt entry is a miss, logged, and is replaced
rcli set sluice:v1:default:shared "not a cache entry" >/dev/null
out=$(run_json "$WORK/k7.yaml")
expect_eq "$(node "$out" n cached)" 0 "corrupt entry is a miss"
expect_eq "$(node "$out" n value)" 7 "result over a corrupt entry"
grep -q "key=sluice:v1:default:shared entry refused, treated as a miss: cache entry of 17 bytes does not decode" "$WORK"/w?.log ||
    fail "the corrupt entry was not logged"
out=$(run_json "$WORK/k7.yaml")
expect_eq "$(node "$out" n cached)" 1 "the corrupt entry was replaced"
pass "explicit and inputs keys, versions, refresh, TTL, none, validate, corrupt"
