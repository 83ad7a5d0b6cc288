# tests/integration/test_multihost.sh: sluice across hosts, for real. Five
# network namespaces, each a host with its own address, joined by veth
# pairs through a bridge (in a sixth namespace, the switch): Redis (AUTH)
# on 10.77.0.1, the broker on .2, workers w1 and w2 on .3 and .4, the
# client on .5. CURVE on every broker socket. Then:
#  1. the seed flow twice (the second a cache hit in Redis) and a
#     10,000-task map, across the hosts;
#  2. w1's link cut (ip link set eth0 down) mid-run: the run completes on
#     w2, and w1 comes back when its link does;
#  3. loss on the broker's link (iptables statistic drops in its
#     namespace, both ways): heartbeats hold, no worker is lost;
#  4. latency on a worker's link (a delaying TCP proxy: this kernel has no
#     netem): heartbeats hold, the worker takes tasks.
# The tolerances tested are the ones docs/RELIABILITY.md documents. Needs
# root (ip netns, iptables); skips, saying why, where it cannot make them.
source "$SLUICE_SRC/tests/integration/lib.sh"

DELAY_PROXY="$SLUICE_BIN/tests/delay_proxy"
LOSS=${SLUICE_TEST_LOSS:-0.1}           # per packet, each way
DELAY_MS=${SLUICE_TEST_DELAY_MS:-500}   # one way

skip() {
    echo "SKIP: $*"
    exit 77
}

[ "$(id -u)" = 0 ] || skip "needs root to make network namespaces"
command -v ip >/dev/null || skip "no ip command (iproute2)"
command -v iptables >/dev/null || skip "no iptables"

# names: unique per run, interface names within 15 characters
P=sl$$
SW=$P-sw
HOSTS=(redis broker w1 w2 client)
declare -A ADDR=([redis]=10.77.0.1 [broker]=10.77.0.2 [w1]=10.77.0.3
                 [w2]=10.77.0.4 [client]=10.77.0.5)

teardown() {
    local status=$?
    for pid in "${PIDS[@]}"; do
        stop_pid "$pid" || status=1
    done
    PIDS=()
    for h in "${HOSTS[@]}"; do
        ip netns del "$P-$h" 2>/dev/null || true
    done
    ip netns del "$SW" 2>/dev/null || true
    set +e # cleanup reads the status from $?
    (exit "$status")
    cleanup
}
trap teardown EXIT

on() { # on HOST COMMAND...: runs COMMAND on that host (in the
    # background: `ip netns exec` directly, so that $! is the process)
    local h=$1
    shift
    ip netns exec "$P-$h" "$@"
}

ip netns add "$SW" 2>/dev/null ||
    skip "cannot make a network namespace here (ip netns add failed)"
ip -n "$SW" link add br0 type bridge
ip -n "$SW" link set br0 up
i=0
for h in "${HOSTS[@]}"; do
    i=$((i + 1))
    ip netns add "$P-$h"
    ip link add "v$P$i" type veth peer name eth0 netns "$P-$h"
    ip link set "v$P$i" netns "$SW"
    ip -n "$SW" link set "v$P$i" master br0 up
    ip -n "$P-$h" addr add "${ADDR[$h]}/24" dev eth0
    ip -n "$P-$h" link set eth0 up
    ip -n "$P-$h" link set lo up
done

# keys: CURVE pairs for the broker, each worker and the client
mkdir -p "$WORK/keys" "$WORK/allow-workers" "$WORK/allow-clients"
"$SLUICE" keygen "$WORK/keys/broker" "$WORK/keys/w1" "$WORK/keys/w2" \
    "$WORK/keys/w3" "$WORK/keys/client" >/dev/null
cp "$WORK"/keys/w[123].pub "$WORK/allow-workers/"
cp "$WORK/keys/client.pub" "$WORK/allow-clients/"
export SLUICE_BROKER_KEY="$WORK/keys/broker.pub"
REDIS_PASSWORD=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')

# Redis on its host, the password on stdin, not on its command line
ip netns exec "$P-redis" redis-server - >>"$WORK/redis.log" 2>&1 <<EOF &
bind ${ADDR[redis]}
port 6379
save ""
appendonly no
requirepass "$REDIS_PASSWORD"
EOF
PIDS+=($!)
for _ in $(seq 100); do
    REDISCLI_AUTH=$REDIS_PASSWORD on redis redis-cli -h "${ADDR[redis]}" \
        ping 2>/dev/null | grep -q PONG && break
    sleep 0.05
done

B=${ADDR[broker]}
ip netns exec "$P-broker" "$BROKER" --clients "tcp://$B:5555" \
    --workers "tcp://$B:5556" \
    --key "$WORK/keys/broker.key" --allow-clients "$WORK/allow-clients" \
    --allow-workers "$WORK/allow-workers" --http "$B:9090" --journal none \
    --log-level debug >>"$WORK/broker.log" 2>&1 &
PIDS+=($!)

start_host_worker() { # start_worker HOST ID ENDPOINT [options...]
    local h=$1 id=$2 ep=$3
    shift 3
    SLUICE_REDIS_PASSWORD=$REDIS_PASSWORD ip netns exec "$P-$h" "$WORKER" \
        --broker "$ep" \
        --id "$id" --key "$WORK/keys/$id.key" \
        --cache "redis://${ADDR[redis]}:6379/0" --slots 2 \
        --tasks "$EXAMPLE_PLUGIN" \
        --log-level debug "$@" >>"$WORK/$id.log" 2>&1 &
    PIDS+=($!)
}
start_host_worker w1 w1 "tcp://$B:5556" --http "${ADDR[w1]}:9091"
start_host_worker w2 w2 "tcp://$B:5556" --http "${ADDR[w2]}:9091"

client() { # client COMMAND ARGS...: `sluice` on the client host
    SLUICE_KEY="$WORK/keys/client.key" on client "$SLUICE" "$@"
}

metric() { # metric HOST:PORT NAME: the sum of a metric's samples
    local page
    for _ in 1 2 3; do
        page=$(on client curl -sf --max-time 5 "http://$1/metrics") && break
    done
    [ -n "$page" ] || fail "no /metrics from $1"
    awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $2 }
                   END { printf "%.0f\n", s }' <<<"$page"
}

reconnects() { # new connections of w1 and w2 to the broker since start
    echo $(($(metric "${ADDR[w1]}:9091" sluice_worker_reconnects_total) +
            $(metric "${ADDR[w2]}:9091" sluice_worker_reconnects_total)))
}

workers_seen() { # the workers the broker has, as the client sees them
    client status --broker "tcp://$B:5555" --json --timeout 2000 \
        2>/dev/null | jq '[.workers[] | select(.draining | not)] | length' ||
        echo 0
}

wait_workers_n() { # wait_workers_n N WHAT: up to 15 s
    local n=0
    for _ in $(seq 75); do
        n=$(workers_seen)
        [ "$n" -eq "$1" ] && return 0
        sleep 0.2
    done
    fail "$2: the broker has $n workers, not $1"
}

wait_workers_n 2 "start"
expect_eq "$(metric "$B:9090" sluice_curve_refused_handshakes_total)" 0 \
    "refused handshakes of allowed keys"

# 1. the seed flow twice, then a 10,000-task map, across the hosts
for run in 1 2; do
    client run --broker "tcp://$B:5555" --json --quiet \
        "$SLUICE_SRC/examples/seed.yaml" >"$WORK/seed$run.json" ||
        fail "seed run $run: $(cat "$WORK/seed$run.json")"
done
expect_eq "$(node "$(cat "$WORK/seed1.json")" add value)" 15 "seed value"
expect_eq "$(node "$(cat "$WORK/seed2.json")" add cached)" 1 \
    "the second seed run a cache hit"
keys=$(REDISCLI_AUTH=$REDIS_PASSWORD on redis redis-cli -h "${ADDR[redis]}" \
       --scan --pattern 'sluice:v1:default:add_numbers')
expect_eq "$keys" "sluice:v1:default:add_numbers" "the seed entry in Redis"

numbers="[$(seq -s, 1 10000)]"
start=$(date +%s%N)
client run --broker "tcp://$B:5555" --json --quiet \
    --param "numbers=$numbers" "$SLUICE_SRC/examples/mapreduce.yaml" \
    >"$WORK/map.json" || fail "10k map: $(head -c 500 "$WORK/map.json")"
took_ms=$((($(date +%s%N) - start) / 1000000))
# sum of n^2 for n = 1..10000: n(n+1)(2n+1)/6
expect_eq "$(node "$(cat "$WORK/map.json")" total value)" 333383335000 \
    "sum of 10,000 squares"
expect_eq "$(node "$(cat "$WORK/map.json")" squares tasks)" 10000 \
    "map tasks"
for w in w1 w2; do
    n=$(metric "${ADDR[$w]}:9091" sluice_worker_tasks_total)
    [ "$n" -gt 1000 ] || fail "$w ran only $n tasks of the map"
done
echo "10,000-task map across hosts, CURVE on: $took_ms ms"

naps_flow() { # naps_flow FILE N MS: N tasks of MS ms, uncached, summed
    cat >"$1" <<EOF
flow: naps
params:
  xs: [$(seq -s, 1 "$2")]
tasks:
  naps:
    run: sleep_ms
    map: { x: \$params.xs }
    args: [$3, \$x]
    cache: none
  total:
    run: sum
    args: [\$naps]
    cache: none
EOF
}
naps_total() { echo $(($1 * ($1 + 1) / 2)); }

# 2. w1's link cut mid-run: w1's tasks go to w2 once the broker misses w1's
# heartbeats (3 s); the run completes
naps_flow "$WORK/cut.yaml" 200 50 # 200 x 50 ms on 4 slots: 2.5 s
lost_before=$(metric "$B:9090" sluice_workers_lost_total)
client run --broker "tcp://$B:5555" --json --quiet "$WORK/cut.yaml" \
    >"$WORK/cut.json" &
run_pid=$!
sleep 1
ip -n "$P-w1" link set eth0 down
wait "$run_pid" || fail "run with w1 cut: $(cat "$WORK/cut.json")"
expect_eq "$(jq -r .state "$WORK/cut.json")" done "run with w1 cut"
expect_eq "$(node "$(cat "$WORK/cut.json")" total value)" \
    "$(naps_total 200)" "total with w1 cut"
lost=$(metric "$B:9090" sluice_workers_lost_total)
[ "$lost" -gt "$lost_before" ] || fail "w1 cut: no worker counted lost"
grep -q "worker=w1" "$WORK/broker.log" || fail "broker never named w1"
ip -n "$P-w1" link set eth0 up
wait_workers_n 2 "w1's link back"
# Back, w1 may still find the broker silent for a while (TCP's
# retransmission timers backed off while the link was down) and connect
# again, which the broker counts as one more loss: wait until the counts
# have held still for 4 s (longer than the 3 s liveness)
settled=""
for _ in $(seq 10); do
    now="$(metric "$B:9090" sluice_workers_lost_total)/$(reconnects)"
    [ "$now" = "$settled" ] && break
    settled=$now
    sleep 4
done
[ "$now" = "$settled" ] || fail "w1 never settled after its link came back"
wait_workers_n 2 "w1 settled"
echo "w1 cut mid-run: the run completed on w2; w1 back when its link was"

# 3. loss on the broker's link, both ways: TCP retransmits, heartbeats
# hold, no worker is lost, runs complete
lost_before=$(metric "$B:9090" sluice_workers_lost_total)
reconnects_before=$(reconnects)
on broker iptables -A INPUT -i eth0 -m statistic --mode random \
    --probability "$LOSS" -j DROP
on broker iptables -A OUTPUT -o eth0 -m statistic --mode random \
    --probability "$LOSS" -j DROP
naps_flow "$WORK/loss.yaml" 400 50 # 5 s of work on 4 slots
start=$(date +%s)
# a new connection under loss may lose SYNs (1 s, then 3 s to resend)
# and handshake packets: the client waits up to 30 s to be accepted, not
# its default 5 s
client run --broker "tcp://$B:5555" --json --quiet --timeout 30000 \
    "$WORK/loss.yaml" >"$WORK/loss.json" ||
    fail "run under $LOSS loss: $(cat "$WORK/loss.json")"
# and idle heartbeats for at least 10 s in all under loss
while [ $(($(date +%s) - start)) -lt 10 ]; do sleep 0.5; done
dropped=$(on broker iptables -nvxL INPUT | awk '/statistic/ { print $1 }')
on broker iptables -F
expect_eq "$(node "$(cat "$WORK/loss.json")" total value)" \
    "$(naps_total 400)" "total under $LOSS loss"
[ "$dropped" -gt 0 ] || fail "the loss rule dropped nothing"
# what happened under loss, read once it is over: the broker lost no
# worker, no worker connected again
expect_eq "$(metric "$B:9090" sluice_workers_lost_total)" "$lost_before" \
    "workers lost under $LOSS loss"
expect_eq "$(reconnects)" "$reconnects_before" \
    "worker reconnections under $LOSS loss"
expect_eq "$(workers_seen)" 2 "workers after $LOSS loss"
echo "loss $LOSS each way on the broker's link for 10 s: $dropped packets" \
     "dropped in, no worker lost"

# 4. latency: a third worker, on w2's host, reaches the broker through a
# proxy that holds every byte DELAY_MS each way
ip netns exec "$P-broker" "$DELAY_PROXY" "$B:6556" "$B:5556" "$DELAY_MS" \
    >>"$WORK/proxy.log" 2>&1 &
PIDS+=($!)
sleep 0.2
lost_before=$(metric "$B:9090" sluice_workers_lost_total)
start_host_worker w2 w3 "tcp://$B:6556" --http "${ADDR[w2]}:9093"
wait_workers_n 3 "w3 through the delaying proxy"
naps_flow "$WORK/delay.yaml" 300 50
start=$(date +%s)
client run --broker "tcp://$B:5555" --json --quiet "$WORK/delay.yaml" \
    >"$WORK/delay.json" || fail "run with w3 delayed: $(cat "$WORK/delay.json")"
while [ $(($(date +%s) - start)) -lt 10 ]; do sleep 0.5; done
expect_eq "$(node "$(cat "$WORK/delay.json")" total value)" \
    "$(naps_total 300)" "total with w3 delayed"
n=$(metric "${ADDR[w2]}:9093" sluice_worker_tasks_total)
[ "$n" -gt 0 ] || fail "w3, $DELAY_MS ms away, ran no task"
expect_eq "$(metric "$B:9090" sluice_workers_lost_total)" "$lost_before" \
    "workers lost with $DELAY_MS ms of delay"
expect_eq "$(metric "${ADDR[w2]}:9093" sluice_worker_reconnects_total)" 0 \
    "w3's reconnections with $DELAY_MS ms of delay"
expect_eq "$(workers_seen)" 3 "workers with w3 delayed"
echo "w3 ${DELAY_MS} ms each way from the broker: $n tasks, never lost"

pass "multihost: 5 hosts, CURVE; seed, 10k map, link cut, $LOSS loss," \
     "${DELAY_MS} ms delay"
