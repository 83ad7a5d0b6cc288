#!/usr/bin/env bash
# examples/bench/load_vs_wrk.sh: `sluice load --local` against `wrk` on
# the same static nginx on loopback, as docs/PERFORMANCE.md measures it
# ("Load testing: sluice load against wrk").
#   examples/bench/load_vs_wrk.sh [ROUNDS]
# Each round (the throughput runs alternate which goes first):
#   1. most requests a second: wrk -t1 and -t2 (-c 32, 5 s), then sluice
#      load at a rate above what it can send (--rate 200000, --connections
#      32, 5 s: it sends as fast as it can, the rest counted unsent);
#   2. latency at a fixed rate below capacity: wrk with a Lua delay() so
#      that 10 connections send about 1,000 requests a second, then sluice
#      load at the rate wrk reached; the p50 of each.
# nginx serves one static file (index.html, 612 bytes) as one process.
set -euo pipefail
BIN=${SLUICE_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build}
rounds=${1:-3}
work=$(mktemp -d /tmp/sluice-load-bench.XXXXXX)
nginx_pid=
stop() {
    [ -n "$nginx_pid" ] && kill -TERM "$nginx_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap stop EXIT
port=$("$BIN/tests/free_port" 1)
mkdir -p "$work/www"
head -c 612 /dev/zero | tr '\0' 'x' >"$work/www/index.html"
cat >"$work/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/body;
  proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fastcgi;
  uwsgi_temp_path $work/uwsgi;
  scgi_temp_path $work/scgi;
  keepalive_requests 100000000;
  server { listen 127.0.0.1:$port; root $work/www; }
}
EOF
nginx=$(command -v nginx || echo /usr/sbin/nginx)
"$nginx" -c "$work/nginx.conf" -e "$work/error.log" &
nginx_pid=$!
until curl -sf "http://127.0.0.1:$port/index.html" >/dev/null; do
    sleep 0.05
done
url="http://127.0.0.1:$port/index.html"
cat >"$work/paced.lua" <<'EOF'
function delay() return 10 end
EOF

wrk_rps() { # wrk_rps THREADS: requests/s
    wrk -t"$1" -c32 -d5s "$url" | awk '/^Requests\/sec/ {print int($2)}'
}
sluice_rps() {
    "$BIN/client/sluice" load --local --json --quiet "$url" --rate 200000 \
        --duration 5s --connections 32 | jq '.answered / .seconds | floor'
}
wrk_paced() { # rate and p50 (us) of wrk at about 1,000/s
    wrk -t1 -c10 -d5s --latency -s "$work/paced.lua" "$url" | awk '
        /^ +50%/ { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+/, "", v)
                   p50 = u == "ms" ? v * 1000 : u == "s" ? v * 1e6 : v }
        /^Requests\/sec/ { rps = int($2) }
        END { print rps, int(p50) }'
}
sluice_paced() { # RATE: p50 (us)
    "$BIN/client/sluice" load --local --json --quiet "$url" --rate "$1" \
        --duration 5s --connections 10 | jq '.latency_us.p50'
}

echo "round wrk-t1 wrk-t2 sluice-local | wrk-rate wrk-p50-us sluice-p50-us"
for r in $(seq "$rounds"); do
    if [ $((r % 2)) -eq 1 ]; then
        w1=$(wrk_rps 1); w2=$(wrk_rps 2); s=$(sluice_rps)
        read -r rate wp50 < <(wrk_paced); sp50=$(sluice_paced "$rate")
    else
        s=$(sluice_rps); w1=$(wrk_rps 1); w2=$(wrk_rps 2)
        read -r rate wp50 < <(wrk_paced); sp50=$(sluice_paced "$rate")
    fi
    echo "$r $w1 $w2 $s | $rate $wp50 $sp50"
done
