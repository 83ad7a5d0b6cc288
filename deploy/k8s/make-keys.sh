#!/usr/bin/env bash
# deploy/k8s/make-keys.sh: makes what the base's Secrets are generated
# from, in deploy/k8s/base/keys/ (never committed): CURVE key pairs for the
# broker, the workers and the clients (`sluice keygen`), and a Redis
# password. Files already there are kept, so running it again changes
# nothing; delete one to replace it (docs/OPERATIONS.md, rotating keys).
#
#   bash deploy/k8s/make-keys.sh [SLUICE]
#
# SLUICE: the sluice command to run (default: `sluice` on the PATH, else
# build/client/sluice).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
keys="$here/base/keys"
sluice=${1:-$(command -v sluice || echo "$here/../../build/client/sluice")}
[ -x "$sluice" ] || {
    echo "make-keys.sh: no sluice command at '$sluice': build it first" \
         "(README) or give its path" >&2
    exit 2
}
mkdir -p "$keys"
chmod 0700 "$keys"
for name in broker worker client; do
    if [ ! -e "$keys/$name.key" ]; then
        "$sluice" keygen "$keys/$name" >/dev/null
        echo "made $keys/$name.key and $name.pub"
    fi
done
if [ ! -e "$keys/redis-password" ]; then
    # 32 random bytes as hex: nothing Redis's config parser could misread
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' \
        >"$keys/redis-password")
    echo "made $keys/redis-password"
fi
