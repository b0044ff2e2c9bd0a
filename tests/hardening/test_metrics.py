"""The Prometheus endpoint, scraped over HTTP: call counts by code, tokens, batches, queue, model choice."""

from __future__ import annotations

import os
import time
import urllib.request
from pathlib import Path

import grpc
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from router import ModelPlan
from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc
from tests.hardening.conftest import free_port
from tests.rpc.conftest import EMBED_MODEL
from tests.rpc.harness import RunningServer, server_settings

EMBED = {"grpc_type": "unary", "grpc_service": "embedroute.v1.EmbedService", "grpc_method": "Embed"}


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(server: RunningServer) -> Samples:
    url = f"http://127.0.0.1:{server.server.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def settled(
    server: RunningServer, before: Samples, name: str, moved: float, **labels: str
) -> Samples:
    """A scrape taken once `name` (summed over its other labels) moved by `moved`.

    The client sees an aborted call's status before the server's handler has unwound,
    so the last call may be counted a few milliseconds after the client returns.
    """
    deadline = time.monotonic() + 5
    while True:
        after = scrape(server)
        total = sum(
            v - before.get(k, 0.0) for k, v in after.items() if k[0] == name and frozenset(labels.items()) <= k[1]
        )
        if total >= moved or time.monotonic() > deadline:
            return after
        time.sleep(0.02)


def test_counters_move(hardened: RunningServer, hardened_channel: grpc.Channel) -> None:
    stub = embed_pb2_grpc.EmbedServiceStub(hardened_channel)
    before = scrape(hardened)
    tokens = 0
    for text in ("one", "two words", "three words here"):
        tokens += stub.Embed(embed_pb2.EmbedRequest(inputs=[text])).usage.prompt_tokens
    for _ in range(2):
        with pytest.raises(grpc.RpcError):
            stub.Embed(embed_pb2.EmbedRequest())
    after = settled(hardened, before, "grpc_server_handled_total", 5, **EMBED)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("grpc_server_started_total", **EMBED) == 5
    assert moved("grpc_server_handled_total", **EMBED, grpc_code="OK") == 3
    assert moved("grpc_server_handled_total", **EMBED, grpc_code="INVALID_ARGUMENT") == 2
    assert moved("grpc_server_handling_seconds_count", **EMBED, grpc_code="OK") == 3
    assert moved("grpc_server_handling_seconds_sum", **EMBED, grpc_code="OK") > 0
    assert moved("embedroute_tokens_total", model=EMBED_MODEL) == tokens > 0
    assert moved("embedroute_batch_size_count", model=EMBED_MODEL) == 3
    assert moved("embedroute_batch_size_sum", model=EMBED_MODEL) == 3
    assert moved("embedroute_queue_wait_seconds_count", model=EMBED_MODEL) == 3
    assert value(after, "embedroute_queue_depth", model=EMBED_MODEL) == 0
    assert value(after, "embedroute_model_ready", model=EMBED_MODEL) == 1
    assert value(after, "embedroute_model_load_seconds", model=EMBED_MODEL) > 0
    info = {
        "model": EMBED_MODEL,
        "kind": "embedding",
        "state": "ready",
        "file": "Qwen3-Embedding-Tiny-Q8_0.gguf",
        "quant": "Q8_0",
        "device": "cpu",
        "gpu_layers": "0",
        "threads": "1",
        "pooling": "last",
        "vector_space_id": hardened.server.registry.get(EMBED_MODEL).vector_space_id(),
        "dimensions": "256",
    }
    assert info["vector_space_id"].startswith("vs1-")
    assert value(after, "embedroute_model_info", **info) == 1


def test_batches_of_a_stream(hardened: RunningServer, hardened_channel: grpc.Channel) -> None:
    """Stream inputs queued together share decode steps: the batch-size histogram counts the sequences
    in each step (one cut at a step's end counts in both), the token counter every token decoded."""
    before = scrape(hardened)
    requests = (embed_pb2.EmbedStreamRequest(id=str(i), input=f"item {i}") for i in range(40))
    replies = list(embed_pb2_grpc.EmbedServiceStub(hardened_channel).EmbedStream(requests, timeout=60))
    assert len(replies) == 40
    stream = {**EMBED, "grpc_type": "bidi_stream", "grpc_method": "EmbedStream", "grpc_code": "OK"}
    after = settled(hardened, before, "grpc_server_handled_total", 1, **stream)
    assert value(after, "grpc_server_handled_total", **stream) - value(before, "grpc_server_handled_total", **stream) == 1

    def grown(name: str) -> float:
        return value(after, name, model=EMBED_MODEL) - value(before, name, model=EMBED_MODEL)

    batches, sequences = grown("embedroute_batch_size_count"), grown("embedroute_batch_size_sum")
    assert 1 <= batches <= 40
    assert 40 <= sequences <= 40 + batches - 1
    assert grown("embedroute_tokens_total") == sum(r.usage.prompt_tokens for r in replies)


def listening_addresses(port: int) -> set[str]:
    return {
        c.laddr.ip
        for c in psutil.Process(os.getpid()).net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    }


def test_the_metrics_port_listens_where_grpc_does(hardened: RunningServer) -> None:
    """The hardened server listens on 127.0.0.1: so must its metrics, unless metrics_host says otherwise."""
    assert hardened.settings.host == "127.0.0.1" and hardened.settings.metrics_host == ""
    assert listening_addresses(hardened.server.metrics_port) == {"127.0.0.1"}


def test_metrics_host_is_its_own_setting(models_dir: Path, embed_plans_only: list[ModelPlan]) -> None:
    port = free_port()
    server = RunningServer(server_settings(models_dir, metrics_port=port, metrics_host="127.0.0.2"), embed_plans_only)
    try:
        assert listening_addresses(port) == {"127.0.0.2"}
    finally:
        server.stop()
