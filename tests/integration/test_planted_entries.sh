# tests/integration/test_planted_entries.sh: an entry is checked against the
# key it is read under, on every read, without validate: inputs. On
# fdda4fe a 2-byte entry and a message of another type were served as
# null, an entry copied from mul(3, 5) to mul(6, 7)'s key answered 15, and
# a planted 100 MiB value was a hit that then failed the task on every run.
# Each is now a miss, counted by reason on /metrics, and the task computes
# the right answer (and stores it in place of the planted one).
source "$(dirname "$0")/lib.sh"

start_redis
start_broker
HP=$(ports 1)
start_worker w1 --cache "$REDIS_URL" --http "127.0.0.1:$HP"
wait_workers 1

rejected() { # rejected REASON: the worker's count of refused entries
    curl -sf "http://127.0.0.1:$HP/metrics" | awk -v want=\
"sluice_cache_entries_rejected_total{reason=\"$1\"}" \
        '$1 == want { v = $2 } END { print v + 0 }'
}

mul() { # mul A B: a flow computing A * B, its key printed after the run
    printf 'flow: m\ntasks:\n  p: {run: mul, args: [%s, %s]}\n' "$1" "$2" \
        >"$WORK/mul-$1-$2.yaml"
    echo "$WORK/mul-$1-$2.yaml"
}

key_of() { # key_of A B: the key mul(A, B)'s entry is stored under
    local before after
    rcli del dummy >/dev/null
    before=$(rcli --scan --pattern 'sluice:v1:default:mul:*' | sort)
    run_json "$(mul "$1" "$2")" >/dev/null || fail "mul($1, $2) failed"
    after=$(rcli --scan --pattern 'sluice:v1:default:mul:*' | sort)
    comm -13 <(echo "$before") <(echo "$after")
}

check() { # check A B WANT WHAT: mul(A, B) is computed (a miss) and right
    local out
    out=$(run_json "$(mul "$1" "$2")") || fail "$4: the run failed: $out"
    expect_eq "$(node "$out" p value)" "$3" "$4: the answer"
    expect_eq "$(node "$out" p cached)" 0 "$4: a miss"
    expect_eq "$(node "$out" p cache_errors)" 0 "$4: no cache error"
    out=$(run_json "$(mul "$1" "$2")")
    expect_eq "$(node "$out" p cached)" 1 "$4: stored again, then a hit"
}

KEY35=$(key_of 3 5)
KEY67=$(key_of 6 7)
[ -n "$KEY35" ] && [ -n "$KEY67" ] || fail "no keys for mul(3, 5), mul(6, 7)"

# 2 bytes that decode as an empty entry of format 1
printf '\x08\x01' | rcli -x set "$KEY67" >/dev/null
check 6 7 42 "a 2-byte entry"
expect_eq "$(rejected corrupt)" 1 "2-byte entries counted"

# a message of another type (a Task: field 1 a varint, field 4 a string)
printf '\x08\x02\x22\x03mul' | rcli -x set "$KEY67" >/dev/null
check 6 7 42 "a message of another type"
expect_eq "$(rejected corrupt)" 2 "messages of another type counted"

# the entry of mul(3, 5), copied under mul(6, 7)'s key
rcli copy "$KEY35" "$KEY67" replace >/dev/null
check 6 7 42 "an entry copied from another key"
expect_eq "$(rejected other_key)" 1 "copied entries counted"

# a planted 100 MiB value: never read whole, a miss, the task computes
head -c $((100 * 1024 * 1024)) /dev/zero | rcli -x set "$KEY67" >/dev/null
check 6 7 42 "a planted 100 MiB value"
expect_eq "$(rejected too_large)" 1 "values over the read cap counted"
grep -q "entry refused, treated as a miss: the stored value is over the read cap" \
    "$WORK/w1.log" || fail "the oversized value was not logged"

# the stored entry names its key: sluice cache get shows it; under another
# key it refuses it
got=$("$SLUICE" cache get "$KEY67" --cache "$REDIS_URL" --json) ||
    fail "cache get of a good entry: $got"
expect_eq "$(jq .value <<<"$got")" 42 "cache get"
rcli copy "$KEY67" "$KEY35" replace >/dev/null
rc=0
err=$("$SLUICE" cache get "$KEY35" --cache "$REDIS_URL" 2>&1) || rc=$?
expect_eq "$rc" 1 "cache get of an entry copied from another key"
grep -q "made for another key" <<<"$err" || fail "cache get said: $err"
pass "planted, copied, foreign and oversized entries are misses, counted"
