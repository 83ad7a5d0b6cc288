# tests/integration/test_tenant_caches.sh: flows that name their own caches
# stay apart, even when one executor takes them in one batch and they name
# more caches than it keeps open. On fdda4fe an executor kept 8
# connections and gave the 9th URL the 8th's slot while a job still held
# it: tenant 7's entry went to tenant 8's cache, and its next run answered
# "tenant-8".
source "$(dirname "$0")/lib.sh"

TENANTS=10 # more than an executor keeps open (8)
start_broker --prefetch 32
start_worker w1 --slots 1 --tasks "$TEST_PLUGIN"
wait_workers 1

in_flight() { # tasks the worker holds
    "$SLUICE" status --broker "$BROKER_EP" --json |
        jq '[.workers[].in_flight] | add // 0'
}

wait_in_flight() { # wait_in_flight N: until the worker holds N tasks
    local n=0
    for _ in $(seq 200); do
        n=$(in_flight)
        [ "$n" -ge "$1" ] && return 0
        sleep 0.05
    done
    fail "the worker holds $n tasks, not $1"
}

for i in $(seq 0 $((TENANTS - 1))); do
    printf 'flow: f%d\ncache:\n  url: lmdb://%s/c%d\ntasks:\n  who:\n    run: echo\n    args: [tenant-%d]\n    cache: key\n    cache_key: shared\n' \
        "$i" "$WORK" "$i" "$i" >"$WORK/f$i.yaml"
done
printf 'flow: busy\ntasks:\n  hold:\n    run: gate\n    args: [%s/open, 1]\n    cache: none\n' \
    "$WORK" >"$WORK/busy.yaml"

# round ROUND: the executor is held by a gate while every tenant's flow
# reaches the worker, so that they go to it as one batch; then each must
# answer its own tenant
round() {
    rm -f "$WORK/open"
    run_json "$WORK/busy.yaml" >"$WORK/busy.out" &
    local busy=$! pids=()
    wait_in_flight 1
    for i in $(seq 0 $((TENANTS - 1))); do
        run_json "$WORK/f$i.yaml" >"$WORK/f$i.$1.out" &
        pids+=($!)
    done
    wait_in_flight $((TENANTS + 1))
    touch "$WORK/open"
    wait "$busy" || fail "round $1: the gate run failed"
    for i in $(seq 0 $((TENANTS - 1))); do
        wait "${pids[$i]}" || fail "round $1: flow f$i failed: $(cat "$WORK/f$i.$1.out")"
        expect_eq "$(node "$(cat "$WORK/f$i.$1.out")" who value)" "\"tenant-$i\"" \
            "round $1: flow f$i's answer"
    done
}

round 1
round 2
for i in $(seq 0 $((TENANTS - 1))); do
    expect_eq "$(node "$(cat "$WORK/f$i.2.out")" who cached)" 1 \
        "round 2: flow f$i served from its own cache"
done
pass "$TENANTS flows with their own caches, in one batch, each got its own"
