"""SIGTERM on a real `embedroute serve` process with the HTTP front on: HTTP requests in flight finish,
and the process exits 0 (uvicorn runs inside it without taking the signal from the drain)."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.conftest import SynthModels
from tests.hardening.conftest import free_port

EMBEDROUTE = Path(sys.executable).with_name("embedroute")
LONG = " ".join(["hello"] * 400)
N_CALLS = 4
INPUTS = 48
"""Enough work that the calls are still in flight when SIGTERM comes, on an idle machine too."""


def test_sigterm_drains_http_requests(synth_models: SynthModels, tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "embed.gguf").symlink_to(synth_models.embedding["Q8_0"])
    http_port = free_port()
    process = subprocess.Popen(
        [str(EMBEDROUTE), "serve", "--models", str(tmp_path / "models"), "--host", "127.0.0.1", "--port", "0",
         "--http-port", str(http_port), "--metrics-port", "0", "--ctx", "512", "--threads", "1",
         "--drain-grace-seconds", "120", "--log-format", "json",
         "--cache", "off"],  # the same inputs in every call: with the cache, only one call would compute
        stderr=subprocess.PIPE, text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stderr or ()], daemon=True).start()
    url = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert time.monotonic() < deadline and process.poll() is None, "server never became ready"
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.ConnectError:
                pass
            time.sleep(0.2)
        answers: list[httpx.Response] = []

        def call() -> None:
            answers.append(httpx.post(f"{url}/v1/embeddings", json={"input": [LONG] * INPUTS}, timeout=150))

        threads = [threading.Thread(target=call) for _ in range(N_CALLS)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        finished_before = len(answers)
        process.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(150)
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert finished_before < N_CALLS, "the requests finished before SIGTERM: the test proved nothing"
    assert [a.status_code for a in answers] == [200] * N_CALLS
    assert all(len(a.json()["data"]) == INPUTS for a in answers)
    logged = []
    while not lines.empty():
        logged.append(json.loads(lines.get()).get("message", ""))
    assert "stopped" in logged
