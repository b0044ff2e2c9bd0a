#!/usr/bin/env bash
# CI gate for the API contract: Buf STANDARD lint, buf breaking against the previous
# commit, then the checked-in generated Python code must equal a fresh generation
# (exit 1 when stale).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
buf="${BUF:-$root/.venv/bin/buf}"
[ -x "$buf" ] || buf="$(command -v buf)"

"$buf" lint
echo "buf lint: ok"

# Once the API has shipped, a commit must not break it: compare with the previous commit
# (offline: buf reads git history). BUF_AGAINST_REF picks another base, e.g. origin/main.
against="${BUF_AGAINST_REF:-HEAD~1}"
if git cat-file -e "$against:buf.yaml" 2>/dev/null && git cat-file -e "$against:protos/embedroute/v1" 2>/dev/null; then
  "$buf" breaking --against ".git#ref=$against"
  echo "buf breaking (against $against): ok"
else
  echo "buf breaking: skipped ($against has no protos yet)"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
bash "$root/scripts/gen-protos.sh" "$tmp"
if ! diff -r -x __pycache__ "$tmp" "$root/service/rpc/generated"; then
  echo "service/rpc/generated is stale: run scripts/gen-protos.sh and commit the result" >&2
  exit 1
fi
echo "generated code: up to date"
