"""A stream whose client stops reading stops costing the server: its window bounds results not yet sent.

The client runs in its own process and never reads an answer. Once the window's
results (and what HTTP/2 buffers) wait to be sent, the server must stop reading the
stream, computing and growing; before the fix it computed every input it was sent.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from router import ModelPlan
from tests.rpc.harness import RunningServer, server_settings

REPO = Path(__file__).resolve().parents[2]
WINDOW = 8
SENT = 20_000


@pytest.fixture
def server(models_dir: Path, embed_plans_only: list[ModelPlan]) -> Iterator[RunningServer]:
    running = RunningServer(server_settings(models_dir, stream_window=WINDOW), embed_plans_only).load()
    yield running
    running.stop()


def test_an_unread_stream_stops_the_work(server: RunningServer) -> None:
    worker = server.worker("qwen3-embedding-tiny")
    me = psutil.Process(os.getpid())
    client = subprocess.Popen(
        [sys.executable, "-m", "tests.hardening.unread_stream_client", server.target, str(SENT), "40"],
        cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 30
        last, still_since = -1, time.monotonic()
        while time.monotonic() < deadline:  # until the worker has done nothing for 3 s
            time.sleep(0.5)
            if worker.stats.batches != last:
                last, still_since = worker.stats.batches, time.monotonic()
            elif time.monotonic() - still_since >= 3:
                break
        assert time.monotonic() < deadline, "the server never stopped computing for the unread stream"
        cpu_before, rss_before = sum(me.cpu_times()[:2]), me.memory_info().rss
        batches_before = worker.stats.batches
        time.sleep(5)
        cpu = sum(me.cpu_times()[:2]) - cpu_before
        grown = me.memory_info().rss - rss_before
        assert worker.stats.batches == batches_before
        assert cpu < 0.5, f"{cpu:.2f} CPU seconds in 5 s for a stream nobody reads"
        assert grown < 20 * 2**20, f"grew {grown / 2**20:.1f} MiB in 5 s"
        # What HTTP/2 flow control lets through before the writer waits; far from all that was sent.
        assert worker.stats.batches < SENT // 10, f"{worker.stats.batches} decodes for {SENT} unread inputs"
    finally:
        client.kill()
        client.wait(10)
