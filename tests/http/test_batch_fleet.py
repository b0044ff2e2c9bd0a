"""A fleet on one PostgreSQL (jobs_store): two real `embedroute serve` processes share one job - both
claim and answer chunks of it (as the store records) - then one is `kill -9`ed mid-job and the other
finishes it, every custom_id answered exactly once. A job and a file made through one replica are
answered by the other; another key still sees nothing there."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import openai
import psycopg
import pytest

from tests.conftest import SynthModels
from tests.hardening.conftest import free_port
from tests.http.batch_support import KEY_A, KEY_B, embed_line, jsonl, read_lines, sdk_at, wait_final
from tests.http.postgres_support import PostgresServer, postgres

__all__ = ["postgres"]  # the session's PostgreSQL fixture

EMBEDROUTE = Path(sys.executable).with_name("embedroute")
N_LINES = 400
CHUNK_LINES = 4
LEASE_S = 2
TEXT = " ".join(["fleet"] * 120)


def _serve(models: Path, url: str, http_port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(EMBEDROUTE), "serve", "--models", str(models), "--host", "127.0.0.1", "--port", "0",
         "--http-port", str(http_port), "--metrics-port", "0", "--ctx", "512", "--threads", "1", "--cache", "off",
         "--jobs-store", url, "--batch-chunk-lines", str(CHUNK_LINES), "--batch-chunk-lease-seconds", str(LEASE_S)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "EMBEDROUTE_API_KEYS": f"{KEY_A},{KEY_B}"},
    )


def _ready(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 180
    while True:
        assert time.monotonic() < deadline and process.poll() is None, "server never became ready"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return
        except httpx.ConnectError:
            pass
        time.sleep(0.1)


def _done_by(url: str, batch_id: str) -> dict[int, int]:
    """Chunks done, per process id of the replica that answered them (the store's record)."""
    with psycopg.connect(url) as db:
        rows = db.execute("SELECT owner, COUNT(*) FROM chunks WHERE batch_id = %s AND done = 1 GROUP BY owner",
                          (batch_id,)).fetchall()
    return {int(owner.split(":")[1]): count for owner, count in rows}


def _held_by(url: str, batch_id: str, pid: int) -> list[int]:
    """Chunks the replica `pid` claimed and has not committed."""
    with psycopg.connect(url) as db:
        rows = db.execute("SELECT seq, owner FROM chunks WHERE batch_id = %s AND done = 0 AND owner IS NOT NULL",
                          (batch_id,)).fetchall()
    return [seq for seq, owner in rows if int(owner.split(":")[1]) == pid]


def test_two_replicas_share_a_job_and_one_finishes_it_after_the_other_is_killed(
    synth_models: SynthModels, postgres: PostgresServer, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "embed.gguf").symlink_to(synth_models.embedding["Q8_0"])
    url = postgres.database()
    port_a, port_b = free_port(), free_port()
    a, b = _serve(models, url, port_a), _serve(models, url, port_b)
    try:
        _ready(a, port_a)
        _ready(b, port_b)
        via_a, via_b = sdk_at(f"http://127.0.0.1:{port_a}", KEY_A), sdk_at(f"http://127.0.0.1:{port_b}", KEY_A)
        lines = [embed_line(f"line-{i}", [f"{i} {TEXT}", f"{TEXT} {i}"]) for i in range(N_LINES)]
        uploaded = via_a.files.create(file=("fleet.jsonl", io.BytesIO(jsonl(lines))), purpose="batch")
        assert via_b.files.retrieve(uploaded.id).bytes == len(jsonl(lines))
        assert via_b.files.content(uploaded.id).content == jsonl(lines)
        batch = via_a.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
        assert via_b.batches.retrieve(batch.id).input_file_id == uploaded.id

        deadline = time.monotonic() + 240
        while set(done := _done_by(url, batch.id)) != {a.pid, b.pid}:  # both replicas answered chunks
            assert time.monotonic() < deadline, f"chunks done per replica: {done}"
            assert via_b.batches.retrieve(batch.id).status in ("validating", "in_progress")
            time.sleep(0.05)
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        before = _done_by(url, batch.id)
        held = _held_by(url, batch.id, a.pid)  # the chunk A was answering when it died, if it was between none
        assert sum(before.values()) < N_LINES // CHUNK_LINES, "the job ended before the kill"

        other = sdk_at(f"http://127.0.0.1:{port_b}", KEY_B)
        for call in (lambda: other.batches.retrieve(batch.id), lambda: other.batches.cancel(batch.id),
                     lambda: other.files.content(uploaded.id)):
            with pytest.raises(openai.NotFoundError):
                call()

        done = wait_final(via_b, batch.id, timeout_s=600)
        out = read_lines(via_b, done.output_file_id)
        after = _done_by(url, batch.id)
    finally:
        for process in (a, b):
            process.kill()
            process.wait(10)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (N_LINES, N_LINES, 0)
    assert Counter(o["custom_id"] for o in out) == Counter(f"line-{i}" for i in range(N_LINES))
    assert [o["custom_id"] for o in out] == [f"line-{i}" for i in range(N_LINES)]  # in input order
    assert all(o["response"]["status_code"] == 200 and len(o["response"]["body"]["data"]) == 2 for o in out)
    assert done.error_file_id is None
    assert after[a.pid] == before[a.pid] and after[b.pid] > before[b.pid]  # the survivor did the rest
    assert sum(after.values()) == N_LINES // CHUNK_LINES
    assert len(held) <= 1
    with psycopg.connect(url) as db:
        for seq in held:  # claimed again once A's lease ran out, and answered by B
            owner, claims = db.execute("SELECT owner, claims FROM chunks WHERE batch_id = %s AND seq = %s",
                                       (batch.id, seq)).fetchone()
            assert int(owner.split(":")[1]) == b.pid and claims >= 2
