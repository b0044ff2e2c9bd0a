"""Crash safety of a job submitted over gRPC: `kill -9` of a real `embedroute serve` mid-job, a restart
on the same data_dir and port, and BatchResults answers every custom_id exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.rpc.generated.embedroute.v1 import batch_pb2, batch_pb2_grpc, embed_pb2
from tests.conftest import SynthModels
from tests.hardening.conftest import free_port

EMBEDROUTE = Path(sys.executable).with_name("embedroute")
N_LINES = 1000
TEXT = " ".join(["crash"] * 120)


def _serve(models: Path, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [str(EMBEDROUTE), "serve", "--models", str(models), "--host", "127.0.0.1", "--port", str(port),
         "--http-port", "0", "--metrics-port", "0", "--ctx", "512", "--threads", "1", "--cache", "off",
         "--data-dir", str(data_dir), "--batch-chunk-lines", "8"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            assert time.monotonic() < deadline and process.poll() is None, "server never became ready"
            try:
                if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
                    return process
            except grpc.RpcError:
                pass
            time.sleep(0.1)


def test_kill_9_mid_job_then_restart_answers_each_line_once(synth_models: SynthModels, tmp_path: Path) -> None:
    models, data_dir = tmp_path / "models", tmp_path / "data"
    models.mkdir()
    (models / "embed.gguf").symlink_to(synth_models.embedding["Q8_0"])
    port = free_port()
    process = _serve(models, data_dir, port)
    lines = [batch_pb2.SubmitBatchRequest(custom_id=f"line-{i}", embed=embed_pb2.EmbedRequest(
        inputs=[f"{i} {TEXT}", f"{TEXT} {i}"])) for i in range(N_LINES)]
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = batch_pb2_grpc.BatchServiceStub(channel)
            job = stub.SubmitBatch(iter(lines)).batch
            for message in stub.WatchBatch(batch_pb2.WatchBatchRequest(batch_id=job.id), timeout=120):
                seen = message.batch
                assert seen.status in (batch_pb2.BATCH_STATUS_VALIDATING, batch_pb2.BATCH_STATUS_IN_PROGRESS)
                if seen.completed >= 16:
                    break
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        assert seen.completed < N_LINES

        process = _serve(models, data_dir, port)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = batch_pb2_grpc.BatchServiceStub(channel)
            *_, last = stub.WatchBatch(batch_pb2.WatchBatchRequest(batch_id=job.id), timeout=300)
            answers = list(stub.BatchResults(batch_pb2.BatchResultsRequest(batch_id=job.id)))
    finally:
        process.kill()
        process.wait(10)
    done = last.batch
    assert (done.status, done.total, done.completed, done.failed) == (batch_pb2.BATCH_STATUS_COMPLETED, N_LINES, N_LINES, 0)
    assert Counter(a.custom_id for a in answers) == Counter(f"line-{i}" for i in range(N_LINES))
    assert all(a.WhichOneof("result") == "embed" and len(a.embed.embeddings) == 2 for a in answers)
