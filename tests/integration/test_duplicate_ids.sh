# tests/integration/test_duplicate_ids.sh: workers that share an id (two
# pods from one template, a restart while the old connection lingers) never
# bring the broker down, and every run stays right. On fdda4fe two
# `sluice-worker --id w1` took the routing id from each other (ROUTER
# handover) until libzmq 4.3.4 aborted the broker
# (stream_engine_base.cpp:331) when one of them stopped.
source "$(dirname "$0")/lib.sh"

start_broker
broker_pid=${PIDS[0]}
start_worker w1 --slots 2
wait_workers 1

ids() { "$SLUICE" status --broker "$BROKER_EP" --json | jq -c '[.workers[].id] | sort'; }

wait_ids() { # wait_ids JSON: until the broker's worker ids are these
    local got=""
    for _ in $(seq 100); do
        got=$(ids)
        [ "$got" = "$1" ] && return 0
        sleep 0.1
    done
    fail "workers: $got, expected $1"
}

forget_pid() { # forget_pid PID: no longer stopped at exit (it is gone)
    local kept=() p
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done
    PIDS=("${kept[@]}")
}

check_run() { # check_run WHAT: a 200-element map is right
    local out
    out=$(run_json "$SLUICE_SRC/examples/mapreduce.yaml" \
        --param "numbers=[$(seq -s, 1 200)]") || fail "$1: run failed: $out"
    expect_eq "$(node "$out" total value)" 2686700 "$1: sum of squares 1..200"
    kill -0 "$broker_pid" 2>/dev/null || fail "$1: the broker died"
}

# a second live process with the same id gets a name of its own, and both
# work; whichever stops, by SIGTERM or SIGKILL, the broker stays up, and a
# new one takes the name that is free
old=${PIDS[1]} old_name=w1
for round in 1 2 3 4; do
    start_worker w1 --slots 2
    new=${PIDS[-1]}
    wait_ids '["w1","w1~2"]'
    check_run "round $round, two workers named w1"
    new_name=w1
    [ "$old_name" = w1 ] && new_name='w1~2'
    case $round in # 1, 3: the newer goes; 2, 4: the older; odd: SIGKILL
    1 | 3) victim=$new survivor=$old name=$old_name ;;
    *) victim=$old survivor=$new name=$new_name ;;
    esac
    if [ $((round % 2)) = 1 ]; then
        kill -9 "$victim"
        forget_pid "$victim"
    else
        stop_pid "$victim" || fail "round $round: a worker did not stop cleanly"
        forget_pid "$victim"
    fi
    wait_ids "[\"$name\"]"
    check_run "round $round, after one of them went"
    old=$survivor old_name=$name
done
grep -q "worker id 'w1' is taken by a live worker" "$WORK/broker.log" ||
    fail "the broker did not say the id was taken"
grep -q "is known as 'w1~2'" "$WORK/w1.log" ||
    fail "the second worker was not told its name"
pass "two workers with one id: both serve, either may go, the broker stays up"

# a restart within the liveness window: the old process is killed and a new
# one with the same id comes at once; it takes the name (the old
# connection is gone), and runs go on
stop_pid "$old" || fail "the last worker did not stop cleanly"
forget_pid "$old"
start_worker w1 --slots 2
wait_ids '["w1"]'
for round in 1 2 3; do
    kill -9 "${PIDS[-1]}"
    forget_pid "${PIDS[-1]}"
    start_worker w1 --slots 2
    wait_ids '["w1"]'
    check_run "restart $round"
done
pass "a worker restarted within the liveness window takes its id back"
