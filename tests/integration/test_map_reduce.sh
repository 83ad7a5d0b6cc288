# tests/integration/test_map_reduce.sh: a map over 1000 elements, reduced
# by sum, across two worker processes, gives the right total.
source "$(dirname "$0")/lib.sh"

start_redis
start_broker
start_worker w1 --cache "$REDIS_URL" --slots 4
start_worker w2 --cache "$REDIS_URL" --slots 4
wait_workers 2

numbers="[$(seq -s, 1 1000)]"
out=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml" \
    --param "numbers=$numbers") || fail "run failed"
expect_eq "$(jq -r .state <<<"$out")" done "run state"
expect_eq "$(node "$out" squares tasks)" 1000 "mapped tasks"
expect_eq "$(node "$out" squares 'value | length')" 1000 "mapped results"
expect_eq "$(node "$out" squares 'value[999]')" 1000000 "last square"
expect_eq "$(node "$out" total value)" 333833500 "sum of squares 1..1000"
# both workers computed some of them: entries name their producer
keys=$(rcli --scan --pattern 'sluice:v1:default:mul:*')
expect_eq "$(wc -l <<<"$keys")" 1000 "entries in Redis"
producers=$(head -n 200 <<<"$keys" | while read -r key; do
    rcli get "$key" | tr -d '\0'
done)
for w in w1 w2; do
    grep -aq "$w" <<<"$producers" || fail "worker $w computed nothing"
done
pass "map of 1000 reduced by sum"
