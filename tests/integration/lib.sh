# tests/integration/lib.sh: what every integration test shares: real
# redis-server, sluice-broker and sluice-worker processes on free loopback
# ports, in a scratch directory; at exit every process is stopped with
# SIGTERM and must exit 0 within 5 s, or the test fails ("nothing leaked
# or was left running").
set -euo pipefail
: "${SLUICE_BIN:?set SLUICE_BIN to the build folder}"
: "${SLUICE_SRC:?set SLUICE_SRC to the source folder}"

SLUICE="$SLUICE_BIN/client/sluice"
BROKER="$SLUICE_BIN/broker/sluice-broker"
WORKER="$SLUICE_BIN/worker/sluice-worker"
FREE_PORT="$SLUICE_BIN/tests/free_port"
SEND_RAW="$SLUICE_BIN/tests/send_raw"
EXAMPLE_PLUGIN="$SLUICE_BIN/examples/plugin/libexample_tasks.so"
TEST_PLUGIN="$SLUICE_BIN/tests/libtest_tasks.so"
WORK=$(mktemp -d /tmp/sluice-it.XXXXXX)
PIDS=()
export SLUICE_CACHE_DIR="$WORK/lmdb" # never the user's own cache
export SLUICE_STATE_DIR="$WORK/state" # nor its broker journals

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

pass() {
    echo "PASS: $*"
}

stop_pid() { # stop_pid PID: SIGTERM, wait up to 5 s, report how it ended
    local pid=$1 rc=0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "LEAK: process $pid still running 5 s after SIGTERM" >&2
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        return 1
    fi
    wait "$pid" 2>/dev/null || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "process $pid exited with $rc after SIGTERM" >&2
        return 1
    fi
}

cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do
        stop_pid "$pid" || status=1
    done
    if [ "$status" -ne 0 ]; then
        for log in "$WORK"/*.log; do
            [ -f "$log" ] && { echo "--- $log"; tail -n 20 "$log"; }
        done
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT

# ports N: N free loopback ports, one per line, none of them handed out
# before in this test: a port is free again once free_port closes it, and
# the kernel may offer it to the next call before its first taker binds it
# (test_metrics gave a worker's --http the broker's worker port so). The
# ports given are kept in a file, since callers run this in a subshell.
ports() {
    local n=$1 p got=()
    while [ ${#got[@]} -lt "$n" ]; do
        for p in $("$FREE_PORT" "$n"); do
            grep -qx "$p" "$WORK/ports" 2>/dev/null && continue
            [ ${#got[@]} -lt "$n" ] || break
            got+=("$p")
            echo "$p" >>"$WORK/ports"
        done
    done
    printf '%s\n' "${got[@]}"
}

start_redis() { # sets REDIS_PORT, REDIS_PID, REDIS_URL
    REDIS_PORT=${REDIS_PORT:-$(ports 1)}
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
        --appendonly no >>"$WORK/redis.log" 2>&1 &
    REDIS_PID=$!
    PIDS+=("$REDIS_PID")
    REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
    for _ in $(seq 100); do
        redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    fail "redis-server did not start on port $REDIS_PORT"
}

stop_redis() {
    stop_pid "$REDIS_PID" || fail "redis-server did not stop cleanly"
}

rcli() {
    redis-cli -p "$REDIS_PORT" "$@"
}

start_broker() { # start_broker [options]: sets BROKER_EP and WORKERS_EP
    local p
    p=($(ports 2))
    BROKER_EP="tcp://127.0.0.1:${p[0]}"
    WORKERS_EP="tcp://127.0.0.1:${p[1]}"
    "$BROKER" --clients "$BROKER_EP" --workers "$WORKERS_EP" \
        --log-level debug "$@" >>"$WORK/broker.log" 2>&1 &
    PIDS+=($!)
}

start_worker() { # start_worker ID [sluice-worker options...]
    local id=$1
    shift
    "$WORKER" --broker "$WORKERS_EP" --id "$id" --log-level debug "$@" \
        >>"$WORK/$id.log" 2>&1 &
    PIDS+=($!)
}

wait_workers() { # wait_workers N: until the broker has N workers
    local n=0
    for _ in $(seq 100); do
        n=$("$SLUICE" status --broker "$BROKER_EP" --json --timeout 1000 \
            2>/dev/null | jq '.workers | length') || n=0
        [ "$n" -ge "$1" ] && return 0
        sleep 0.1
    done
    fail "only $n of $1 workers registered"
}

run_json() { # run_json FLOW [sluice run options...]: result JSON to stdout
    "$SLUICE" run --broker "$BROKER_EP" --json --quiet "$@"
}

node() { # node JSON NAME FIELD
    jq -c --arg n "$2" ".nodes[] | select(.name == \$n) | .$3" <<<"$1"
}

calls() { # calls FILE: lines in a call log (0 if none)
    [ -f "$1" ] && wc -l <"$1" | tr -d ' ' || echo 0
}

wait_log() { # wait_log PATTERN FILE WHAT: up to 10 s for a line, else fail
    for _ in $(seq 100); do
        grep -q -- "$1" "$2" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "$3 (no '$1' in $(basename "$2"))"
}

expect_lanes() { # expect_lanes WORKER-PATTERN FLOW: runs FLOW until the
    # broker logs results that came on a lane of a matching worker, at
    # most 20 times (a lane connects on its own time: until it does, its
    # executor's answers go by the worker's connection), else fails
    for _ in $(seq 20); do
        grep -q "worker=$1 .* results on a lane" "$WORK/broker.log" &&
            return 0
        run_json "$2" >/dev/null || fail "$2 failed"
    done
    fail "no result came on a lane of worker $1"
}

expect_eq() { # expect_eq ACTUAL EXPECTED WHAT
    [ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

start_nginx() { # sets NGINX_PORT, NGINX_PID, NGINX_URL, NGINX_ACCESS: a
    # real HTTP server on loopback (Debian's nginx-light) as one process
    # (master_process off: a SIGSTOP stops all of it), logging each request
    # to NGINX_ACCESS (a line each: what tests wait on). / answers 200
    # "hello", /fail 500, /echo the method, URI and X-User header. The same
    # on NGINX_TLS_URL, over TLS (HTTP/2 offered) with a self-signed
    # certificate for 127.0.0.1 that nothing trusts.
    local nginx tls_port
    nginx=$(command -v nginx || echo /usr/sbin/nginx)
    [ -x "$nginx" ] || fail "nginx is not installed (nginx-light)"
    NGINX_PORT=$(ports 1)
    NGINX_URL="http://127.0.0.1:$NGINX_PORT"
    NGINX_ACCESS="$WORK/nginx/access.log"
    tls_port=$(ports 1)
    NGINX_TLS_URL="https://127.0.0.1:$tls_port"
    mkdir -p "$WORK/nginx"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/nginx/tls.key" \
        -out "$WORK/nginx/tls.crt" >>"$WORK/nginx.log" 2>&1 ||
        fail "openssl could not make a certificate"
    cat >"$WORK/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx.log;
events { worker_connections 4096; }
http {
  access_log $NGINX_ACCESS;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    listen 127.0.0.1:$tls_port ssl http2;
    ssl_certificate $WORK/nginx/tls.crt;
    ssl_certificate_key $WORK/nginx/tls.key;
    location / { return 200 "hello\n"; }
    location /fail { return 500 "no\n"; }
    location /echo { return 200 "\$request_method \$request_uri \$http_x_user\n"; }
  }
}
CONF
    "$nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx.log" \
        >>"$WORK/nginx.log" 2>&1 &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
    for _ in $(seq 100); do
        curl -sf "$NGINX_URL/" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    fail "nginx did not start on port $NGINX_PORT"
}

start_silent() { # sets SILENT_PORT: a listener that takes connections and
    # never answers (a server that hangs: requests time out)
    SILENT_PORT=$(ports 1)
    python3 -c 'import signal, socket, sys, time
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(4096)
kept = []
while True:
    c, _ = s.accept()
    kept.append(c)' "$SILENT_PORT" >>"$WORK/silent.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do
        python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
            "$SILENT_PORT" 2>/dev/null && return 0
        sleep 0.05
    done
    fail "the silent listener did not start"
}

access_lines() { # access_lines: requests nginx has logged so far
    [ -f "$NGINX_ACCESS" ] && wc -l <"$NGINX_ACCESS" | tr -d ' ' || echo 0
}

wait_requests() { # wait_requests N: up to 20 s until nginx logged N
    for _ in $(seq 400); do
        [ "$(access_lines)" -ge "$1" ] && return 0
        sleep 0.05
    done
    fail "nginx logged only $(access_lines) of $1 requests"
}
