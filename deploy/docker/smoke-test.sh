#!/usr/bin/env bash
# deploy/docker/smoke-test.sh: builds the image (deploy/docker/Dockerfile)
# with podman and runs it as a cluster would: a broker and a worker
# container, read-only root filesystems, no capabilities, the seed flow
# twice from a client container (the second run a cache hit), the image's
# HEALTHCHECK, the non-root user, and a clean stop of each on SIGTERM.
#
#   bash deploy/docker/smoke-test.sh
#
# Needs podman, runc and, unless $SLUICE_BASE names a base image already
# there, mmdebstrap: with no registry reachable, the Debian bookworm base is
# made here (`mmdebstrap --variant=minbase`) and imported. Run as root.
set -euo pipefail
cd "$(dirname "$0")/../.."

BASE=${SLUICE_BASE:-localhost/debian:bookworm-slim}
IMAGE=localhost/sluice:smoke
NAME=sluice-smoke-$$
UID_WANTED=10001
WORK=$(mktemp -d)

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

for tool in podman runc jq; do
    command -v "$tool" >/dev/null ||
        fail "$tool is not installed (apt-get install podman runc jq)"
done

# With no systemd here podman cannot arm the health check's timer and
# says so on every start and removal: that line is dropped, nothing else.
podman() {
    command podman "$@" 2> >(grep -v 'unable to get systemd connection' >&2)
}

# crun, podman's default runtime, does not run in this sandbox; runc does.
# Every container gets the ulimits the sandbox allows.
printf '[engine]\nruntime = "runc"\n' >"$WORK/containers.conf"
export CONTAINERS_CONF="$WORK/containers.conf"
RUN=(podman run --ulimit nofile=1024:1024 --ulimit nproc=1024:1024
     --read-only --cap-drop ALL --security-opt no-new-privileges
     --tmpfs "/var/lib/sluice:rw,mode=0750,U")

cleanup() {
    podman rm -f -t 0 "$NAME-worker" "$NAME-broker" "$NAME-deaf" \
        >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

if ! podman image exists "$BASE"; then
    [ "$BASE" = localhost/debian:bookworm-slim ] ||
        fail "base image $BASE is not there"
    command -v mmdebstrap >/dev/null ||
        fail "no base image and no mmdebstrap to make one"
    step "making the base image $BASE with mmdebstrap"
    mmdebstrap --quiet --variant=minbase --include=ca-certificates bookworm \
        "$WORK/rootfs.tar"
    podman import -q "$WORK/rootfs.tar" "$BASE" >/dev/null
    rm -f "$WORK/rootfs.tar"
fi

step "building $IMAGE on $BASE"
# docker format: the OCI format has no HEALTHCHECK
podman build -q --format docker --build-arg "BASE=$BASE" \
    -f deploy/docker/Dockerfile -t "$IMAGE" . >/dev/null

config=$(podman image inspect "$IMAGE" | jq '.[0]')
[ "$(jq -r '.Config.User' <<<"$config")" = "$UID_WANTED:$UID_WANTED" ] ||
    fail "image user: $(jq -r '.Config.User' <<<"$config")"
jq -e '.Healthcheck.Test | index("health")' \
    <<<"$config" >/dev/null ||
    fail "image has no HEALTHCHECK running sluice health"
jq -e '.Config.Entrypoint[0] == "/usr/bin/tini"' <<<"$config" >/dev/null ||
    fail "image entrypoint is not tini"
step "image: user $UID_WANTED, tini, HEALTHCHECK: $(podman image inspect \
    --format '{{.Size}}' "$IMAGE") bytes"

step "broker and worker containers"
"${RUN[@]}" -d --name "$NAME-broker" "$IMAGE" >/dev/null
broker_ip=$(podman inspect -f '{{.NetworkSettings.IPAddress}}' "$NAME-broker")
[ -n "$broker_ip" ] || fail "the broker container has no address"
"${RUN[@]}" -d --name "$NAME-worker" "$IMAGE" sluice-worker \
    --broker "tcp://$broker_ip:5556" --slots 2 \
    --tasks /usr/lib/sluice/libexample_tasks.so \
    --cache lmdb:///var/lib/sluice/cache --grace-ms 20000 >/dev/null

for _ in $(seq 100); do
    podman exec "$NAME-worker" sluice health --ready >/dev/null 2>&1 && break
    sleep 0.2
done
podman exec "$NAME-worker" sluice health --ready ||
    fail "worker not ready: $(podman logs "$NAME-worker" 2>&1 | tail -n 5)"

for name in broker worker; do
    podman healthcheck run "$NAME-$name" >/dev/null 2>&1 ||
        fail "HEALTHCHECK of the $name container failed"
    # every process of the container, tini included, runs as the image's
    # user (podman top: USER and the command)
    users=$(podman top "$NAME-$name" huser args | awk 'NR > 1 {print $1}' |
            sort -u)
    [ "$users" = "$UID_WANTED" ] ||
        fail "$name container runs as: $users ($(podman top "$NAME-$name"))"
done
# the check can fail: asking a port where nothing listens is unhealthy
"${RUN[@]}" -d --name "$NAME-deaf" -e SLUICE_HTTP=9091 "$IMAGE" \
    sluice-broker --http 9090 >/dev/null
sleep 1
if podman healthcheck run "$NAME-deaf" >/dev/null 2>&1; then
    fail "HEALTHCHECK passed with nothing on its port"
fi
podman rm -f -t 0 "$NAME-deaf" >/dev/null
step "HEALTHCHECK healthy, unhealthy when its port is deaf; every process \
uid $UID_WANTED"

step "the seed flow from a client container, twice"
for run in 1 2; do
    podman run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
        --read-only "$IMAGE" sluice run --broker "tcp://$broker_ip:5555" \
        --json --quiet /usr/share/sluice/examples/seed.yaml >"$WORK/run$run" ||
        fail "seed run $run: $(cat "$WORK/run$run")"
    jq -e '.state == "done" and .nodes[0].value == 15' "$WORK/run$run" \
        >/dev/null || fail "seed run $run: $(cat "$WORK/run$run")"
done
[ "$(jq '.nodes[0].cached' "$WORK/run2")" = 1 ] ||
    fail "the second seed run was not a cache hit: $(cat "$WORK/run2")"
step "add_numbers(5, 10) = 15, the second time from the worker's cache"

# SIGTERM (podman stop) reaches the program through tini: the worker
# drains and exits 0 well before the 30 s after which podman would kill
for name in worker broker; do
    start=$(date +%s)
    podman stop -t 30 "$NAME-$name" >/dev/null
    took=$(($(date +%s) - start))
    code=$(podman inspect -f '{{.State.ExitCode}}' "$NAME-$name")
    [ "$code" = 0 ] || fail "$name exited $code on SIGTERM: \
$(podman logs "$NAME-$name" 2>&1 | tail -n 5)"
    [ "$took" -lt 10 ] || fail "$name took $took s to stop on SIGTERM"
    podman logs "$NAME-$name" 2>&1 | grep -q "stopped" ||
        fail "$name did not log its stop"
done
step "worker and broker stopped on SIGTERM, exit 0"
echo "image smoke test: passed"
