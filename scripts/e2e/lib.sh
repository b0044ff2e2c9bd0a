# shellcheck shell=bash
# Shared by the e2e scripts: paths, podman settings, progress output. Sourced, never run.
E2E_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Built binaries, rootfs tarballs and logs live here; .gitignore ignores .cache/.
E2E_CACHE="${E2E_CACHE:-$E2E_ROOT/.cache/e2e}"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$E2E_ROOT/scripts/e2e/containers.conf}"
mkdir -p "$E2E_CACHE"

# Timestamped progress lines on stderr, so stdout stays parseable.
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
