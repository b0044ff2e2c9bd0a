#!/usr/bin/env bash
# Offline checks of the deploy artefacts (CI runs this, then pytest tests/deploy):
#   helm lint --strict with the defaults and with every helm/embedroute/ci/*-values.yaml,
#   helm template for each, every rendered manifest validated against the Kubernetes JSON schemas
#   (tests/deploy/manifest_validation.py; the ServiceMonitor against its own schema),
#   hadolint on docker/*.Dockerfile and shellcheck on the shell scripts.
# Tools: bash scripts/install-deploy-tools.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
bindir="$(dirname "$PY")"
HELM=${HELM:-$(command -v helm || echo "$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin/helm")}
# helm built with `go install` assumes Kubernetes v1.20; the chart needs >= 1.27.
KUBE_VERSION=1.30.0
CHART=helm/embedroute

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

"$HELM" lint --strict --kube-version "$KUBE_VERSION" "$CHART"
"$HELM" template er "$CHART" --namespace embedroute-ci --kube-version "$KUBE_VERSION" > "$out/default.yaml"
for values in "$CHART"/ci/*-values.yaml; do
    "$HELM" lint --strict --kube-version "$KUBE_VERSION" "$CHART" --values "$values"
    "$HELM" template er "$CHART" --namespace embedroute-ci --kube-version "$KUBE_VERSION" --values "$values" \
        > "$out/$(basename "$values" .yaml).yaml"
done
"$PY" tests/deploy/manifest_validation.py "$out"/*.yaml

PATH="$bindir:$PATH" hadolint docker/cpu.Dockerfile docker/cuda.Dockerfile
PATH="$bindir:$PATH" shellcheck docker/healthcheck.sh scripts/check-deploy.sh scripts/install-deploy-tools.sh scripts/install-redis.sh scripts/install-postgres.sh \
    scripts/build-base-images.sh scripts/build-image.sh scripts/e2e-container.sh scripts/e2e-kube.sh scripts/e2e/*.sh
echo "deploy checks passed"
