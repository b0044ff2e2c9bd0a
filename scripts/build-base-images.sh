#!/usr/bin/env bash
# Builds the local base images that docker/*.Dockerfile take as build arguments when no container
# registry is reachable: a Debian bookworm made by debootstrap (python3 + venv, the host's CA
# certificates so pip/apt/go reach their registries through this network's TLS proxy), and the same
# with the host's Go toolchain for the grpc_health_probe stage. Idempotent: an existing tag is kept
# (FORCE=1 rebuilds). Prints the two image names on stdout.
set -euo pipefail
# shellcheck source=scripts/e2e/lib.sh
source "$(dirname "$0")/e2e/lib.sh"

SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
GOROOT_HOST=${GOROOT_HOST:-$(go env GOROOT)}
go_version="$("$GOROOT_HOST/bin/go" env GOVERSION)"
PY_BASE=${PY_BASE:-localhost/embedroute-base/debian-python:$SUITE}
GO_BASE=${GO_BASE:-localhost/embedroute-base/debian-go:$SUITE-$go_version}

for tool in debootstrap podman; do
    command -v "$tool" > /dev/null || die "$tool missing: apt-get install -y podman buildah runc debootstrap"
done

if [ "${FORCE:-0}" = 1 ] || ! podman image exists "$PY_BASE"; then
    rootfs="$E2E_CACHE/rootfs-$SUITE"
    rm -rf "$rootfs"
    log "debootstrap --variant=minbase $SUITE (about 30 s)"
    nice -n 19 debootstrap --variant=minbase --include=ca-certificates,python3,python3-venv \
        "$SUITE" "$rootfs" "$MIRROR" > "$E2E_CACHE/debootstrap.log" 2>&1 \
        || { tail -20 "$E2E_CACHE/debootstrap.log" >&2; die "debootstrap (log: $E2E_CACHE/debootstrap.log)"; }
    # The host's extra trust anchors (this network's egress CA); without them pip and go fail TLS.
    if compgen -G "/usr/local/share/ca-certificates/*.crt" > /dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
        chroot "$rootfs" update-ca-certificates > /dev/null
    fi
    # Slim it: apt lists and caches are not needed in a base (each stage runs apt-get update).
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
    log "podman import -> $PY_BASE"
    tar -C "$rootfs" --numeric-owner -c . \
        | podman import --change 'CMD ["/bin/bash"]' \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV LANG=C.UTF-8' - "$PY_BASE" > /dev/null
    rm -rf "$rootfs"
else
    log "base $PY_BASE exists (FORCE=1 rebuilds)"
fi

if [ "${FORCE:-0}" = 1 ] || ! podman image exists "$GO_BASE"; then
    log "adding $go_version from $GOROOT_HOST -> $GO_BASE"
    # Same layout and variables as the golang images: Go in /usr/local/go, GOPATH=/go.
    printf 'FROM %s\nCOPY . /usr/local/go\nENV GOPATH=/go PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n' "$PY_BASE" \
        | podman build --quiet -t "$GO_BASE" -f - "$GOROOT_HOST" > /dev/null
else
    log "base $GO_BASE exists (FORCE=1 rebuilds)"
fi
echo "$PY_BASE"
echo "$GO_BASE"
