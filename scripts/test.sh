#!/usr/bin/env bash
# Every check CI runs, in the order a failure is cheapest to find. Called by `make test`
# (after `make setup`) and so by .ci/run. Tools that come from registries install here,
# idempotently: grpcurl and helm through `go install`, the Python linters through pip, redis-server
# and PostgreSQL through apt-get.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="$root/.venv/bin/python"
export PATH="$(go env GOPATH)/bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

step "tools"
bash scripts/install-grpcurl.sh
bash scripts/install-deploy-tools.sh
bash scripts/install-redis.sh
bash scripts/install-postgres.sh

step "API contract: buf lint, generated code up to date"
bash scripts/check-protos.sh

step "types: mypy --strict"
"$py" -m mypy service router

step "architecture: the import contract (pyproject.toml [tool.importlinter])"
"$root/.venv/bin/lint-imports" --no-cache --no-logo

step "deployment: helm lint, templates, schemas, Dockerfiles"
bash scripts/check-deploy.sh

step "clients: generated code, each client's suite against a real server"
bash scripts/check-clients.sh

step "pytest"
"$py" -m pytest
