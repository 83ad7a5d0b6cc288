#!/usr/bin/env bash
# examples/bench/cluster.sh: `sluice bench` against real processes on this
# host, as docs/PERFORMANCE.md measures it: redis-server, sluice-broker and
# N sluice-worker processes on free loopback ports, then the bench, then
# everything stopped.
#   examples/bench/cluster.sh [--workers N] [--slots N] [--prefetch N]
#                             [--journal PATH|none] [--cpu] [--python]
#                             [sluice bench args]
#   e.g. examples/bench/cluster.sh all --json
# --python: the workers are Python workers (`$SLUICE_PYTHON -m sluice
# worker`, default python3), --slots child processes each, serving
# examples/bench/python_tasks.py.
# --cpu: after the bench, the CPU seconds each process used during it, and
# the host's idle CPU seconds, on stderr.
set -euo pipefail
BIN=${SLUICE_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build}
workers=2 slots=2 broker_args=() cpu=0 python=0
while [ $# -gt 0 ]; do
    case $1 in
    --workers) workers=$2; shift 2 ;;
    --slots) slots=$2; shift 2 ;;
    --prefetch) broker_args+=(--prefetch "$2"); shift 2 ;;
    --journal) broker_args+=(--journal "$2"); shift 2 ;;
    --cpu) cpu=1; shift ;;
    --python) python=1; shift ;;
    *) break ;;
    esac
done
work=$(mktemp -d /tmp/sluice-bench.XXXXXX)
pids=()
stop() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap stop EXIT
ports=($("$BIN/tests/free_port" 3))
redis=${ports[0]} front=${ports[1]} back=${ports[2]}
redis-server --port "$redis" --bind 127.0.0.1 --save '' --appendonly no \
    >"$work/redis.log" 2>&1 &
pids+=($!)
until redis-cli -p "$redis" ping >/dev/null 2>&1; do sleep 0.05; done
SLUICE_STATE_DIR="$work/state" "$BIN/broker/sluice-broker" \
    --clients "tcp://127.0.0.1:$front" --workers "tcp://127.0.0.1:$back" \
    "${broker_args[@]}" >"$work/broker.log" 2>&1 &
pids+=($!)
here=$(cd "$(dirname "$0")" && pwd)
for i in $(seq "$workers"); do
    if [ "$python" = 1 ]; then
        PYTHONPATH="$BIN/python:$here" "${SLUICE_PYTHON:-python3}" -m sluice worker \
            --broker "tcp://127.0.0.1:$back" --id "w$i" --processes "$slots" \
            --cache "redis://127.0.0.1:$redis/0" --tasks python_tasks \
            >"$work/w$i.log" 2>&1 &
    else
        "$BIN/worker/sluice-worker" --broker "tcp://127.0.0.1:$back" \
            --id "w$i" --slots "$slots" --cache "redis://127.0.0.1:$redis/0" \
            --exec /bin/echo >"$work/w$i.log" 2>&1 &
    fi
    pids+=($!)
done
until [ "$("$BIN/client/sluice" status --broker "tcp://127.0.0.1:$front" \
    --json 2>/dev/null | jq '.workers | length')" = "$workers" ]; do
    sleep 0.1
done
# CPU ticks of each process, then the host's idle ticks
ticks() {
    for pid in "${pids[@]}"; do awk '{print $14 + $15}' "/proc/$pid/stat"; done
    awk '/^cpu /{print $5 + $6}' /proc/stat
}
[ "$cpu" = 1 ] && before=($(ticks))
"$BIN/client/sluice" bench --broker "tcp://127.0.0.1:$front" \
    --cache "redis://127.0.0.1:$redis/0" "$@"
if [ "$cpu" = 1 ]; then
    after=($(ticks)) hz=$(getconf CLK_TCK)
    names=(redis broker $(seq -f 'w%g' "$workers") idle)
    for i in "${!names[@]}"; do
        awk -v n="${names[$i]}" -v t="$((after[i] - before[i]))" -v hz="$hz" \
            'BEGIN { printf "%s %.2f s  ", n, t / hz }'
    done >&2
    echo >&2
fi
