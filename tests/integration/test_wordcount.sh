# tests/integration/test_wordcount.sh: examples/wordcount, a pipeline of
# programs, as a user runs it: --local, then on a cluster (Redis, a broker,
# two workers with --exec). A second run is all cache hits; editing one
# text computes its count, the merge and the report again, and nothing
# else; deleting a text changes the list; a worker whose rules do not allow
# the program never gets it.
source "$(dirname "$0")/lib.sh"

cp -r "$SLUICE_SRC/examples/wordcount" "$WORK/wc"
cd "$WORK/wc"

local_run() {
    "$SLUICE" run --local --json --quiet flow.yaml "$@"
}

# tasks of NODE computed in OUT (tasks - cached)
computed() {
    jq -r --arg n "$2" '.nodes[] | select(.name == $n) | .tasks - .cached' <<<"$1"
}

out=$(local_run) || fail "first --local run: $out"
expect_eq "$(jq -r .state <<<"$out")" done "first run"
report=$(node "$out" report value | jq -r .)
grep -q "^words: 106, distinct: 76$" <<<"$report" || fail "report: $report"
grep -q "^    10  the$" <<<"$report" || fail "report's top word: $report"
expect_eq "$(node "$out" count value | jq -c '.[2].snow')" 1 "snow in snow.txt"

grep -q "^words: 106, distinct: 76$" report.txt || fail "report.txt: $(cat report.txt)"
rm report.txt
out=$(local_run) || fail "second run: $out"
for n in files count merge report; do
    expect_eq "$(computed "$out" $n)" 0 "tasks of $n computed on the second run"
done
grep -q "^words: 106, distinct: 76$" report.txt ||
    fail "report.txt was not restored from the cache"
"$SLUICE" cache stats --json >"$WORK/stats.json"
expect_eq "$(jq .blobs "$WORK/stats.json")" 1 "blobs in the embedded cache"
expect_eq "$(jq .blob_bytes "$WORK/stats.json")" "$(wc -c <report.txt | tr -d ' ')" \
    "blob bytes"

# the snow poem grows: its count, the merge and the report compute again
echo "The woods are lovely, dark and deep, snow." >>texts/snow.txt
out=$(local_run) || fail "run after an edit: $out"
expect_eq "$(computed "$out" count)" 1 "counts computed after one text changed"
expect_eq "$(node "$out" count tasks)" 3 "counts"
expect_eq "$(computed "$out" merge)" 1 "merge computed"
expect_eq "$(computed "$out" report)" 1 "report computed"
expect_eq "$(node "$out" count value | jq -c '.[2].snow')" 2 "snow, now"
node "$out" report value | jq -r . | grep -q "^words: 114," ||
    fail "report after the edit: $(node "$out" report value)"

# explain: which part of count[2]'s key changed since the run before
why=$("$SLUICE" cache explain --flow flow.yaml 'count[2]') || fail "explain: $why"
grep -Eq "^  file texts/snow.txt +[0-9a-f]{16} +CHANGED$" <<<"$why" ||
    fail "explain count[2]: $why"
grep -Eq "^  file count.sh +[0-9a-f]{16} +same$" <<<"$why" ||
    fail "explain count[2], its script: $why"
why=$("$SLUICE" cache explain --flow flow.yaml 'count[0]') || fail "explain 0"
grep -q "the same key" <<<"$why" || fail "explain count[0]: $why"
rc=0
why=$("$SLUICE" cache explain --flow flow.yaml 'nope' 2>&1) || rc=$?
expect_eq "$rc" 1 "exit code of explaining no such node"
grep -q "has no key for nope\[0\]" <<<"$why" || fail "explain nope: $why"
rc=0
why=$("$SLUICE" cache explain 2>&1) || rc=$?
expect_eq "$rc" 2 "exit code of explain without a key"

# a text deleted: the list changes; the two others are still hits
rm texts/road.txt
out=$(local_run) || fail "run after a delete: $out"
expect_eq "$(node "$out" count tasks)" 2 "counts after a delete"
expect_eq "$(computed "$out" count)" 0 "counts computed after a delete"
pass "--local: one edited text computes one branch"

# --exec narrows what --local runs, and says so before running anything
rc=0
err=$("$SLUICE" run --local --quiet --exec wc flow.yaml 2>&1) || rc=$?
expect_eq "$rc" 2 "exit code with a program no rule allows"
grep -q "node 'files' runs program '/bin/sh', which no --exec rule allows" \
    <<<"$err" || fail "--exec wc: $err"

# on a cluster: the workers find the texts in their --workspace
shared="$WORK/wc2"
cp -r "$SLUICE_SRC/examples/wordcount" "$shared"
start_redis
start_broker
start_worker narrow --cache "$REDIS_URL" --exec wc --workspace "$shared"
start_worker w1 --cache "$REDIS_URL" --exec /bin/sh --workspace "$shared"
start_worker w2 --cache "$REDIS_URL" --exec '/bin/*' \
    --workspace "$shared" --slots 2
wait_workers 3
out=$(run_json flow.yaml) || fail "cluster run: $out"
node "$out" report value | jq -r . | grep -q "^words: 106, distinct: 76$" ||
    fail "cluster report: $(node "$out" report value)"
status=$("$SLUICE" status --broker "$BROKER_EP" --json)
expect_eq "$(jq '.workers[] | select(.id == "narrow") | .done' <<<"$status")" \
    0 "tasks the worker that may only run wc was given"
out=$(run_json flow.yaml) || fail "second cluster run: $out"
expect_eq "$(jq '[.nodes[] | .tasks - .cached] | add' <<<"$out")" 0 \
    "tasks computed on the second cluster run"
echo "Snow, snow, snow." >>"$shared/texts/snow.txt"
out=$(run_json flow.yaml) || fail "cluster run after an edit: $out"
expect_eq "$(computed "$out" count)" 1 "counts computed on the cluster"
expect_eq "$(node "$out" count value | jq -c '.[2].snow')" 4 "snow, cluster"
# the report file is back after a hit, on the shared workspace
rm "$shared/report.txt"
out=$(run_json flow.yaml) || fail "cluster run without the report: $out"
expect_eq "$(jq '[.nodes[] | .tasks - .cached] | add' <<<"$out")" 0 \
    "tasks computed when only the report file was gone"
[ -s "$shared/report.txt" ] || fail "the cluster did not restore report.txt"
[ "$(rcli --scan --pattern 'sluice:v1:default:$blob:*' | wc -l)" -ge 2 ] ||
    fail "report blobs in Redis"
# what the cluster stored is what --local computes from the same files
keys=$(rcli --scan --pattern 'sluice:v1:default:exec:*' | wc -l)
[ "$keys" -ge 6 ] || fail "program entries in Redis: $keys"
pass "cluster: the same pipeline, the same answers, one branch per edit"
