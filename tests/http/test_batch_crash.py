"""Crash safety: `kill -9` of a real `embedroute serve` process in the middle of a batch job, a restart
on the same data_dir, and every custom_id is answered exactly once - none lost, none twice."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

from tests.conftest import SynthModels
from tests.hardening.conftest import free_port
from tests.http.batch_support import embed_line, jsonl, read_lines, sdk_at, wait_final

EMBEDROUTE = Path(sys.executable).with_name("embedroute")
N_LINES = 300
TEXT = " ".join(["crash"] * 120)


def _serve(models: Path, data_dir: Path, http_port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [str(EMBEDROUTE), "serve", "--models", str(models), "--host", "127.0.0.1", "--port", "0",
         "--http-port", str(http_port), "--metrics-port", "0", "--ctx", "512", "--threads", "1", "--cache", "off",
         "--data-dir", str(data_dir), "--batch-chunk-lines", "8"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while True:
        assert time.monotonic() < deadline and process.poll() is None, "server never became ready"
        try:
            if httpx.get(f"http://127.0.0.1:{http_port}/readyz").status_code == 200:
                return process
        except httpx.ConnectError:
            pass
        time.sleep(0.1)


def test_kill_9_mid_job_then_restart_answers_each_line_once(synth_models: SynthModels, tmp_path: Path) -> None:
    models, data_dir = tmp_path / "models", tmp_path / "data"
    models.mkdir()
    (models / "embed.gguf").symlink_to(synth_models.embedding["Q8_0"])
    port = free_port()
    process = _serve(models, data_dir, port)
    try:
        client = sdk_at(f"http://127.0.0.1:{port}", "anything")
        lines = [embed_line(f"line-{i}", [f"{i} {TEXT}", f"{TEXT} {i}"]) for i in range(N_LINES)]
        uploaded = client.files.create(file=("crash.jsonl", io.BytesIO(jsonl(lines))), purpose="batch")
        batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
        while True:
            seen = client.batches.retrieve(batch.id)
            counts = seen.request_counts
            assert seen.status in ("validating", "in_progress"), f"the job ended before the kill: {seen.status}"
            if counts is not None and counts.completed >= 16:
                break
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        killed_at = counts.completed
        assert killed_at < N_LINES

        process = _serve(models, data_dir, port)
        done = wait_final(client, batch.id, timeout_s=300)
        out = read_lines(client, done.output_file_id)
    finally:
        process.kill()
        process.wait(10)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (N_LINES, N_LINES, 0)
    assert Counter(o["custom_id"] for o in out) == Counter(f"line-{i}" for i in range(N_LINES))
    assert all(o["response"]["status_code"] == 200 and len(o["response"]["body"]["data"]) == 2 for o in out)
    assert done.error_file_id is None
    assert len({o["id"] for o in out}) == N_LINES
