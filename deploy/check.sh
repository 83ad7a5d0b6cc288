#!/usr/bin/env bash
# deploy/check.sh: the offline checks of deploy/: the Dockerfile linted
# (dockerfilelint); every kustomization of deploy/k8s rendered by `kubectl
# kustomize`, linted by yamllint and validated against the Kubernetes and
# KEDA schemas and sluice's own rules (deploy/k8s/validate.js); and the
# validator shown to refuse bad objects. No cluster and no registry but
# npm's are needed.
#
#   bash deploy/check.sh [SLUICE]     (SLUICE: a built `sluice`, for keys)
#
# Needs kubectl, yamllint, node and npm. The npm packages go into
# $SLUICE_DEPLOY_TOOLS (default: a temporary folder), not the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in kubectl yamllint node npm; do
    command -v "$tool" >/dev/null || fail "$tool is not installed"
done

tools=${SLUICE_DEPLOY_TOOLS:-$(mktemp -d)}
if [ ! -d "$tools/node_modules/kubernetes-models" ]; then
    npm install --prefix "$tools" --no-save --no-audit --no-fund --silent \
        dockerfilelint@1.8.0 kubernetes-models@4.5.1 \
        @kubernetes-models/keda@0.4.2 yaml@2
fi
export NODE_PATH="$tools/node_modules"

echo "--- dockerfilelint deploy/docker/Dockerfile"
"$tools/node_modules/.bin/dockerfilelint" -c deploy/docker \
    deploy/docker/Dockerfile >"$tools/lint.txt" ||
    fail "dockerfilelint: $(cat "$tools/lint.txt")"

echo "--- yamllint deploy/k8s"
yamllint -s -c deploy/k8s/.yamllint deploy/k8s tests/deploy

# the Secrets are generated from keys that are never committed
bash deploy/k8s/make-keys.sh "${1:-}" >/dev/null

for dir in deploy/k8s/base deploy/k8s/overlays/*/; do
    dir=${dir%/}
    kubectl kustomize "$dir" >"$tools/rendered.yaml" ||
        fail "kubectl kustomize $dir"
    yamllint -s -c deploy/k8s/.yamllint "$tools/rendered.yaml" ||
        fail "yamllint: $dir rendered"
    node deploy/k8s/validate.js "$tools/rendered.yaml" >/dev/null ||
        fail "validate: $dir"
    echo "--- $dir: $(grep -c '^kind:' "$tools/rendered.yaml") objects" \
         "rendered, linted, valid"
    if [ "$dir" = deploy/k8s/overlays/large ]; then
        # a patch whose target matches nothing renders without a word
        for want in "maxUnavailable: 10%" "maxmemory 16gb" "storage: 50Gi" \
                    "--slots=8" "maxReplicaCount: 200" "memory: 8Gi"; do
            grep -qF -- "$want" "$tools/rendered.yaml" ||
                fail "$dir: a patch did not apply: no '$want'"
        done
    fi
done

# the Job a client runs in the cluster, with the Secrets it names
kubectl kustomize deploy/k8s/overlays/keda >"$tools/rendered.yaml"
printf -- '---\n' >>"$tools/rendered.yaml"
cat deploy/k8s/jobs/*.yaml >>"$tools/rendered.yaml"
node deploy/k8s/validate.js "$tools/rendered.yaml" >/dev/null ||
    fail "validate: deploy/k8s/jobs"
echo "--- deploy/k8s/jobs: valid, with the overlay's Secrets"

echo "--- the validator refuses bad objects"
if node deploy/k8s/validate.js tests/deploy/bad-manifests.yaml \
        2>"$tools/bad.txt"; then
    fail "validate.js passed tests/deploy/bad-manifests.yaml"
fi
for want in "/spec/replicas must be integer" \
            "root filesystem not read-only" \
            "does not cover --grace-ms=50000" \
            "no ConfigMap missing-config" \
            "no liveness or readiness probe" \
            "pod mounts a service-account token" \
            "pod enableServiceLinks is not false" \
            "target 2 is not the workers' --slots=4" \
            "no schema for example.com/v1 Gadget"; do
    grep -qF -- "$want" "$tools/bad.txt" ||
        fail "validate.js did not say '$want': $(cat "$tools/bad.txt")"
done
echo "deploy checks: passed"
