#!/usr/bin/env bash
# examples/bench/peers/peers.sh: what sluice's one-task latency is up
# against on this host, measured the way docs/PERFORMANCE.md reports it
# (issue 15): the ZeroMQ floor of a task's two hops (zmq_hops.c), and
# Gearman (gearmand and C workers, no cache: gearman_add.c) with 2 workers.
# Needs: apt-get install libzmq3-dev gearman-job-server libgearman-dev.
#   examples/bench/peers/peers.sh [ROUNDS]     (default 3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BIN=${SLUICE_BIN:-$here/../../../build}
rounds=${1:-3}
work=$(mktemp -d /tmp/sluice-peers.XXXXXX)
pids=()
stop() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap stop EXIT
cc -O2 -o "$work/zmq_hops" "$here/zmq_hops.c" -lzmq
cc -O2 -o "$work/gearman_add" "$here/gearman_add.c" -lgearman
ports=($("$BIN/tests/free_port" 4))
front=${ports[0]} back=${ports[1]} echo=${ports[2]} gear=${ports[3]}
"$work/zmq_hops" relay "$front" "$back" & pids+=($!)
"$work/zmq_hops" echo "$back" & pids+=($!)
"$work/zmq_hops" echo-router "$echo" & pids+=($!)
gearmand -p "$gear" -L 127.0.0.1 --log-file none >/dev/null 2>&1 & pids+=($!)
until (exec 3<>"/dev/tcp/127.0.0.1/$gear") 2>/dev/null; do sleep 0.05; done
for _ in 1 2; do "$work/gearman_add" worker "$gear" & pids+=($!); done
# (a job waits in gearmand until a worker takes it; the first 200 warm up)
for _ in $(seq "$rounds"); do
    "$work/zmq_hops" direct "$echo" 5000
    "$work/zmq_hops" client "$front" 5000
    "$work/gearman_add" client "$gear" 5000
done
