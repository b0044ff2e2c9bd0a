"""SIGTERM on a real `embedroute serve` process: calls in flight all finish, new ones are refused."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc
from tests.conftest import SynthModels

EMBEDROUTE = Path(sys.executable).with_name("embedroute")
LONG = " ".join(["hello"] * 400)
N_CALLS, N_STREAM = 6, 300


@pytest.fixture
def server_process(synth_models: SynthModels, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "embed.gguf").symlink_to(synth_models.embedding["Q8_0"])
    process = subprocess.Popen(
        [
            str(EMBEDROUTE),
            "serve",
            "--models",
            str(tmp_path / "models"),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--http-port",
            "0",
            "--metrics-port",
            "0",
            "--ctx",
            "512",
            "--threads",
            "1",
            "--drain-grace-seconds",
            "120",
            "--log-format",
            "json",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in process.stderr or ():
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    port = 0
    deadline = time.monotonic() + 120
    while not port and time.monotonic() < deadline:
        entry = json.loads(lines.get(timeout=max(0.1, deadline - time.monotonic())))
        port = int(entry.get("port", 0))
    try:
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def test_sigterm_drains_in_flight_calls(server_process: tuple[subprocess.Popen[str], int]) -> None:
    process, port = server_process
    target = f"127.0.0.1:{port}"
    with grpc.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        serving = health_pb2.HealthCheckResponse.SERVING
        deadline = time.monotonic() + 180
        while health.Check(health_pb2.HealthCheckRequest()).status != serving:
            assert time.monotonic() < deadline, "server never became SERVING"
            time.sleep(0.2)

        stub = embed_pb2_grpc.EmbedServiceStub(channel)
        unary_counts: list[int] = []
        stream_ids: list[str] = []
        failures: list[BaseException] = []

        def unary() -> None:
            try:
                unary_counts.append(len(stub.Embed(embed_pb2.EmbedRequest(inputs=[LONG] * 4), timeout=120).embeddings))
            except grpc.RpcError as exc:
                failures.append(exc)

        def stream() -> None:
            requests = (embed_pb2.EmbedStreamRequest(id=str(i), input=f"item {i}") for i in range(N_STREAM))
            try:
                stream_ids.extend(r.id for r in stub.EmbedStream(requests, timeout=120))
            except grpc.RpcError as exc:
                failures.append(exc)

        threads = [threading.Thread(target=unary) for _ in range(N_CALLS)] + [threading.Thread(target=stream)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        finished_before = len(unary_counts)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        with grpc.insecure_channel(target) as fresh, pytest.raises(grpc.RpcError) as refused:
            embed_pb2_grpc.EmbedServiceStub(fresh).Embed(embed_pb2.EmbedRequest(inputs=["late"]), timeout=10)
        for t in threads:
            t.join(150)

    assert finished_before < N_CALLS, "the calls finished before SIGTERM: the test proved nothing"
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert failures == []
    assert unary_counts == [4] * N_CALLS
    assert sorted(stream_ids, key=int) == [str(i) for i in range(N_STREAM)]
    assert process.wait(60) == 0
