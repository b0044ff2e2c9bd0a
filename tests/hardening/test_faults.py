"""Faults: a broken GGUF, a model that fails mid-way, a caller that goes away, a deadline that passes.

(SIGTERM with streams open is proven on a real process by tests/rpc/test_sigterm.py.)
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc, model_pb2, model_pb2_grpc, rerank_pb2, rerank_pb2_grpc
from service.core.errors import EngineError
from service.scheduler import ModelWorker, Prepared
from service.serve import plan
from tests.conftest import SynthModels
from tests.rpc.conftest import EMBED_MODEL, RERANK_MODEL
from tests.rpc.harness import RunningServer, details_of, rich_status, server_settings

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def health(channel: grpc.Channel, service: str) -> int:
    status: int = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service)).status
    return status


def test_corrupt_gguf_health_tells_the_truth(synth_models: SynthModels, tmp_path: Path) -> None:
    """The only embedding file is truncated after planning and a non-GGUF sits beside it: embedding is
    FAILED and NOT_SERVING with the reason, the reranker serves, and the server as a whole is NOT_SERVING:
    a model it was asked to serve does not (issue 33, item 8; `optional_models` would leave it SERVING)."""
    source = synth_models.embedding["Q8_0"]
    shutil.copy(source, tmp_path / source.name)
    (tmp_path / "garbage.gguf").write_bytes(b"GGUF" + b"\xff" * 4096)
    (tmp_path / "reranker.gguf").symlink_to(synth_models.reranker_cls["F16"])
    settings = server_settings(tmp_path)
    plans = plan(settings)
    assert sorted(p.model_id for p in plans) == [EMBED_MODEL, RERANK_MODEL]  # the garbage file was skipped
    with open(tmp_path / source.name, "r+b") as broken:
        broken.truncate(source.stat().st_size // 3)

    server = RunningServer(settings, plans).load()
    try:
        with grpc.insecure_channel(server.target) as ch:
            assert health(ch, "") == NOT_SERVING
            assert health(ch, "embedroute.v1.EmbedService") == NOT_SERVING
            assert health(ch, "embedroute.v1.RerankService") == SERVING
            model = model_pb2_grpc.ModelServiceStub(ch).GetModel(model_pb2.GetModelRequest(model=EMBED_MODEL)).model
            with pytest.raises(grpc.RpcError) as caught:
                embed_pb2_grpc.EmbedServiceStub(ch).Embed(embed_pb2.EmbedRequest(inputs=["x"]))
            scores = rerank_pb2_grpc.RerankServiceStub(ch).Rerank(rerank_pb2.RerankRequest(query="q", documents=["a"]))
    finally:
        server.stop()
    assert model.state == model_pb2.MODEL_STATE_FAILED
    assert model.error.startswith(f"{source.name}: ")
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.UNAVAILABLE
    assert details_of(status)["ErrorInfo"].reason == "MODEL_FAILED"
    assert len(scores.results) == 1


class FailingOnce:
    """The model's real stepper, except that one decode raises: a fault injected around a real engine."""

    def __init__(self, stepper: Any, error: Exception) -> None:
        self._stepper = stepper
        self._error: Exception | None = error

    def step(self) -> Any:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self._stepper.step()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stepper, name)


@pytest.mark.parametrize(
    ("error", "reason", "message"),
    [
        (EngineError("llama_decode returned -1"), "ENGINE_FAILURE", "llama_decode returned -1"),
        (MemoryError(), "INTERNAL", "internal error: MemoryError"),
    ],
)
def test_model_failing_mid_way(
    hardened: RunningServer, hardened_channel: grpc.Channel, error: Exception, reason: str, message: str
) -> None:
    """The call whose batch failed gets INTERNAL; the worker, the model and the server carry on."""
    worker: ModelWorker = hardened.worker(EMBED_MODEL)
    real = worker.model.stepper
    worker.model.stepper = FailingOnce(real, error)
    stub = embed_pb2_grpc.EmbedServiceStub(hardened_channel)
    try:
        with pytest.raises(grpc.RpcError) as caught:
            stub.Embed(embed_pb2.EmbedRequest(inputs=["first"]), timeout=30)
        after = stub.Embed(embed_pb2.EmbedRequest(inputs=["second", "third"]), timeout=30)
    finally:
        worker.model.stepper = real
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INTERNAL
    assert details_of(status)["ErrorInfo"].reason == reason
    assert status.message == message
    assert [e.dimensions for e in after.embeddings] == [256, 256]
    assert health(hardened_channel, "embedroute.v1.EmbedService") == SERVING
    assert worker.stats.queued == 0


def block_worker(server: RunningServer, worker: ModelWorker) -> tuple[threading.Event, threading.Event]:
    """Occupies the worker with a job that waits for `release`; `busy` is set once it runs."""
    busy, release = threading.Event(), threading.Event()

    class Hold:
        """Work with no sequences whose preparation waits: the worker can do nothing else meanwhile."""

        def prepare(self, model: Any) -> Prepared:
            busy.set()
            release.wait(60)
            return Prepared([])

        def finish(self, model: Any, prepared: Prepared, rows: list[Any]) -> list[int]:
            return []

    async def submit() -> None:
        worker.submit(Hold(), short=True, timeout_s=None)

    server.run(submit())
    assert busy.wait(10)
    return busy, release


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_vanished_stream_frees_its_queued_work(hardened: RunningServer, hardened_channel: grpc.Channel) -> None:
    worker: ModelWorker = hardened.worker(EMBED_MODEL)
    _, release = block_worker(hardened, worker)
    batches, skipped = worker.stats.batches, worker.stats.skipped
    try:
        stub = embed_pb2_grpc.EmbedServiceStub(hardened_channel)
        requests = [embed_pb2.EmbedStreamRequest(id=str(i), input=f"vanishing item {i}") for i in range(20)]
        call = stub.EmbedStream(iter(requests), timeout=60)  # inputs of its own: none in the vector cache
        assert wait_for(lambda: worker.stats.queued == 21), worker.stats  # the blocker and 20 stream inputs
        call.cancel()  # the client goes away mid-stream
        assert wait_for(lambda: worker.stats.queued == 1), worker.stats
    finally:
        release.set()
    assert wait_for(lambda: worker.stats.queued == 0)
    assert worker.stats.skipped - skipped == 20
    assert worker.stats.batches == batches  # none of the stream's inputs reached the engine


def test_passed_deadline_is_dropped_before_the_engine(hardened: RunningServer, hardened_channel: grpc.Channel) -> None:
    worker: ModelWorker = hardened.worker(EMBED_MODEL)
    _, release = block_worker(hardened, worker)
    batches = worker.stats.batches
    try:
        with pytest.raises(grpc.RpcError) as caught:
            embed_pb2_grpc.EmbedServiceStub(hardened_channel).Embed(embed_pb2.EmbedRequest(inputs=["late"]), timeout=0.5)
        assert wait_for(lambda: worker.stats.queued == 1), worker.stats
    finally:
        release.set()
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert wait_for(lambda: worker.stats.queued == 0)
    assert worker.stats.batches == batches
