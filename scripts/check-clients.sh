#!/usr/bin/env bash
# CI gate for the Python, Go, TypeScript and Java clients:
#   1. the checked-in generated code equals a fresh scripts/gen-clients.sh run; mypy --strict
#      on the Python client (the other three are type-checked by their own builds);
#   2. one real server on loopback (tiny synth models, API keys required, a data_dir for batch jobs),
#      and a second one serving the tests' tiny BGE-M3 for hybrid scoring (tests/clients/m3_hybrid.py);
#   3. every client's own test suite against them (EMBEDROUTE_TARGET, EMBEDROUTE_API_KEY,
#      EMBEDROUTE_VECTORS_DIR, EMBEDROUTE_M3_TARGET, EMBEDROUTE_M3_HYBRID: the expected scores),
#      then each client's model card example;
#   4. the cross-language check: all four returned the same vectors.
# Every suite runs even when an earlier one failed, so that one CI run shows every problem;
# the exit status is 1 when anything failed. Tools install idempotently (npm ci from the
# committed lock file, Go modules and Maven artifacts from their registries' caches).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python="${PYTHON:-$root/.venv/bin/python}"
embedroute="$root/.venv/bin/embedroute"
export GOFLAGS="${GOFLAGS:--p=1}"
mvn=(mvn -B -ntp -T1)

work="$(mktemp -d)"
server_pid=""
m3_pid=""
failed=()
cleanup() {
  for pid in $server_pid $m3_pid; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
check() {
  local name="$1"
  shift
  step "$name"
  if ! "$@"; then
    failed+=("$name")
    echo "FAILED: $name" >&2
  fi
}

step "client tools"
# (re)install the Python client when the venv does not import it from this checkout
"$python" -c 'import sys, embedroute_client as c; sys.exit(c.__file__ != sys.argv[1])' \
  "$root/clients/python/src/embedroute_client/__init__.py" 2>/dev/null ||
  "$python" -m pip install -q -e clients/python
lock_sum="$(sha256sum clients/typescript/package-lock.json | cut -d' ' -f1)"
if [ "$(cat clients/typescript/node_modules/.embedroute-lock 2>/dev/null)" != "$lock_sum" ]; then
  (cd clients/typescript && npm ci --no-audit --no-fund && echo "$lock_sum" > node_modules/.embedroute-lock)
fi
(cd clients/go && go mod download)

stale() {
  bash scripts/gen-clients.sh "$work/gen" >/dev/null &&
    diff -r -x __pycache__ "$work/gen/python" clients/python/src/embedroute_client/_proto &&
    diff -r "$work/gen/go" clients/go/gen &&
    diff -r "$work/gen/typescript" clients/typescript/src/gen &&
    echo "generated code: up to date (run scripts/gen-clients.sh after changing protos/)"
}
check "generated code" stale
check "python client types" "$python" -m mypy --config-file clients/python/pyproject.toml \
  clients/python/src clients/python/tests

step "server"
"$embedroute" synth --kind embedding --quants Q8_0 --out "$work/models" >/dev/null
"$embedroute" synth --kind reranker --quants F16 --out "$work/models" >/dev/null
port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
api_key="ci-$("$python" -c 'import secrets; print(secrets.token_hex(12))')"
printf '# test key, made by scripts/check-clients.sh\n%s\n' "$api_key" > "$work/api-keys"
"$embedroute" serve --host 127.0.0.1 --port "$port" --models "$work/models" --metrics-port 0 --http-port 0 \
  --log-format text --api-keys-file "$work/api-keys" --data-dir "$work/data" > "$work/server.log" 2>&1 &
server_pid=$!
if ! "$python" scripts/wait_healthy.py "127.0.0.1:$port" 120; then
  echo "server did not become healthy; its log:" >&2
  cat "$work/server.log" >&2
  exit 1
fi
echo "serving on 127.0.0.1:$port"

step "BGE-M3 server (hybrid scoring)"
"$python" -m tests.clients.m3_hybrid "$work/m3" "$work/m3-hybrid.json"
m3_port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$embedroute" serve --host 127.0.0.1 --port "$m3_port" --models "$work/m3" --metrics-port 0 --http-port 0 \
  --log-format text --api-keys-file "$work/api-keys" > "$work/m3-server.log" 2>&1 &
m3_pid=$!
if ! "$python" scripts/wait_healthy.py "127.0.0.1:$m3_port" 120; then
  echo "the BGE-M3 server did not become healthy; its log:" >&2
  cat "$work/m3-server.log" >&2
  exit 1
fi
echo "serving the tiny BGE-M3 on 127.0.0.1:$m3_port"
export EMBEDROUTE_TARGET="127.0.0.1:$port" EMBEDROUTE_API_KEY="$api_key" EMBEDROUTE_VECTORS_DIR="$work/vectors"
export EMBEDROUTE_M3_TARGET="127.0.0.1:$m3_port" EMBEDROUTE_M3_HYBRID="$work/m3-hybrid.json"

check "python client" "$python" -m pytest -q -p no:cacheprovider clients/python/tests
check "go client" bash -c 'cd clients/go && go vet ./... && go test -count=1 ./...'
check "typescript client" bash -c 'cd clients/typescript && npm test'
check "java client" bash -c 'cd clients/java && "$@" test' _ "${mvn[@]}"
check "cross-language vectors" "$python" tests/clients/cross_check.py "$work/vectors"

examples() {
  local out
  for lang in python go typescript java; do
    case "$lang" in
      python) out="$("$python" clients/python/examples/model_card.py "$EMBEDROUTE_TARGET" "$api_key")" ;;
      go) out="$(cd clients/go && go run ./examples/modelcard "$EMBEDROUTE_TARGET" "$api_key")" ;;
      typescript) out="$(cd clients/typescript && node dist/examples/model-card.js "$EMBEDROUTE_TARGET" "$api_key")" ;;
      java) out="$(cd clients/java && "${mvn[@]}" -q exec:java -Dexec.args="$EMBEDROUTE_TARGET $api_key")" ;;
    esac
    out="${out//$'\e'\[0m/}" # Maven 3.8 writes colour resets even in batch mode
    if ! grep -q "^similarity (queries x documents):" <<<"$out" || ! grep -q "^  document [01]: 0\." <<<"$out"; then
      echo "$lang example printed:"$'\n'"$out" >&2
      return 1
    fi
    printf '%s example:\n%s\n' "$lang" "$out"
  done
}
check "model card examples" examples

if [ "${#failed[@]}" -gt 0 ]; then
  printf '\nclients: FAILED: %s\n' "${failed[*]}" >&2
  exit 1
fi
printf '\nclients: all checks passed\n'
