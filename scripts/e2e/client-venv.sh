#!/usr/bin/env bash
# Makes the e2e client's own small venv in the e2e cache and prints its python: grpcio, its health
# stubs and grpc_tools at the version pyproject.toml pins, and PyYAML to read rendered manifests.
# Independent of the project's .venv and of the service/ package, which the client never imports.
# A no-op when it exists.
set -euo pipefail
# shellcheck source=scripts/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
venv="$E2E_CACHE/client-venv"
grpc_version="$(sed -n 's/.*"grpcio==\([0-9.]*\)".*/\1/p' "$E2E_ROOT/pyproject.toml" | head -1)"
marker="$venv/.installed-grpcio-$grpc_version-pyyaml"
if [ ! -f "$marker" ]; then
    log "client venv: grpcio $grpc_version"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "grpcio==$grpc_version" "grpcio-health-checking==$grpc_version" \
        "grpcio-tools==$grpc_version" "PyYAML==6.0.2"
    touch "$marker"
fi
echo "$venv/bin/python"
