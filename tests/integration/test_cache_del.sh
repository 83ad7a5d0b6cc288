# tests/integration/test_cache_del.sh: `sluice cache del` by filter on a
# real Redis (SCAN, never KEYS) and on the embedded LMDB cache: by task,
# by task@version, by flow file (its namespace, its tasks, its explicit
# keys), by namespace, by age, with --dry-run deleting nothing; and
# `sluice run --refresh NODE` recomputing one node. Bad filters are
# refused with what was wrong, and nothing is deleted.
source "$(dirname "$0")/lib.sh"

start_redis
start_broker
start_worker w1 --cache "$REDIS_URL" --tasks "$EXAMPLE_PLUGIN"
wait_workers 1

cat >"$WORK/other.yaml" <<'YAML'
flow: other
cache: { namespace: other }
tasks:
  add: { run: add_numbers, args: [5, 10], cache_key: add_numbers }
  sq:
    run: mul
    map: { x: [1, 2, 3] }
    args: [$x, $x]
YAML
run_json "$SLUICE_SRC/examples/mapreduce.yaml" >/dev/null || fail "mapreduce"
run_json "$WORK/other.yaml" >/dev/null || fail "other"

count() { # count PATTERN: keys in Redis that match
    rcli --scan --pattern "$1" | wc -l | tr -d ' '
}
del() {
    "$SLUICE" cache del --cache "$REDIS_URL" "$@"
}
expect_eq "$(count 'sluice:v1:default:mul:*')" 10 "mapreduce's mul entries"
expect_eq "$(count 'sluice:v1:other:*')" 4 "other's entries"

out=$(del --task mul --dry-run 2>"$WORK/said") || fail "dry run: $out"
expect_eq "$(wc -l <<<"$out" | tr -d ' ')" 13 "keys a dry run lists"
grep -qx "would delete 13 entries" "$WORK/said" || fail "dry run said $(cat "$WORK/said")"
expect_eq "$(count 'sluice:v1:*:mul:*')" 13 "mul entries after a dry run"

del --task mul@2 2>"$WORK/said" || fail "del mul@2"
grep -qx "deleted 0 entries" "$WORK/said" || fail "mul@2 said $(cat "$WORK/said")"
del --task mul --older-than 1h 2>/dev/null || fail "del --older-than 1h"
expect_eq "$(count 'sluice:v1:*:mul:*')" 13 "entries younger than an hour"

del --task mul --namespace other 2>"$WORK/said" || fail "del mul in other"
grep -qx "deleted 3 entries" "$WORK/said" || fail "said $(cat "$WORK/said")"
expect_eq "$(count 'sluice:v1:default:mul:*')" 10 "mul entries of default"
expect_eq "$(count 'sluice:v1:other:add_numbers')" 1 "other's explicit key"

# by flow: its namespace, its tasks, its explicit cache_key
del --flow "$WORK/other.yaml" 2>"$WORK/said" || fail "del --flow"
grep -qx "deleted 1 entries" "$WORK/said" || fail "flow said $(cat "$WORK/said")"
expect_eq "$(count 'sluice:v1:other:*')" 0 "other's entries after del --flow"
expect_eq "$(count 'sluice:v1:default:*')" 11 "default's entries"

del --namespace default --older-than 1ms 2>"$WORK/said" || fail "del ns"
grep -qx "deleted 11 entries" "$WORK/said" || fail "ns said $(cat "$WORK/said")"
expect_eq "$(count 'sluice:v1:*')" 0 "entries left"
pass "del by task, version, namespace, flow and age; --dry-run"

# --refresh NODE: that node computes and overwrites; the others are hits
run_json "$SLUICE_SRC/examples/mapreduce.yaml" >/dev/null || fail "refill"
out=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml" --refresh total) ||
    fail "refresh run: $out"
expect_eq "$(node "$out" squares cached)" 10 "squares, cached"
expect_eq "$(node "$out" total cached)" 0 "total, refreshed"
rc=0
err=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml" --refresh totl 2>&1) || rc=$?
expect_eq "$rc" 2 "exit code of --refresh of no node"
grep -q "has no node 'totl'" <<<"$err" || fail "--refresh totl: $err"
pass "run --refresh NODE"

# bad filters: refused, nothing deleted
before=$(count 'sluice:v1:*')
bad() { # bad PATTERN ARGS...: exit 2 and a message matching PATTERN
    local pattern=$1 rc=0 msg
    shift
    msg=$("$SLUICE" cache "$@" 2>&1) || rc=$?
    expect_eq "$rc" 2 "exit code of cache $*"
    grep -q -- "$pattern" <<<"$msg" || fail "cache $*: said '$msg'"
}
bad "nothing is deleted without one" del --cache "$REDIS_URL"
bad "give a duration" del --cache "$REDIS_URL" --older-than soon
bad "write NAME or NAME@VERSION" del --cache "$REDIS_URL" --task mul@x
bad "missing.yaml" del --cache "$REDIS_URL" --flow "$WORK/missing.yaml"
bad "are for del" ls --cache "$REDIS_URL" --dry-run
expect_eq "$(count 'sluice:v1:*')" "$before" "entries after refused dels"
pass "bad filters refused"

# the embedded cache: the same, through LMDB's cursor
"$SLUICE" run --local --quiet "$SLUICE_SRC/examples/mapreduce.yaml" >/dev/null ||
    fail "--local run"
"$SLUICE" cache del --task mul 2>"$WORK/said" || fail "lmdb del"
grep -qx "deleted 10 entries" "$WORK/said" || fail "lmdb said $(cat "$WORK/said")"
left=$("$SLUICE" cache ls --task mul | wc -l | tr -d ' ')
expect_eq "$left" 0 "mul entries left in LMDB"
expect_eq "$("$SLUICE" cache ls --task sum | wc -l | tr -d ' ')" 1 "sum's entry"
pass "del on the embedded cache"
