"""Fixtures of the HTTP front's tests: one loaded server with both fronts, and its clients.

The server has the hardening tests' small limits (8 inputs, 4,000 characters, 1 MiB
bodies), so that the HTTP error table can send the gRPC bad-input table's requests
unchanged, and a gRPC channel to the same server, so that vectors can be compared
across the two fronts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest

from router import ModelPlan
from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc, rerank_pb2, rerank_pb2_grpc
from service.serve import plan
from tests.hardening.conftest import MAX_CHARS, MAX_INPUTS, MAX_MESSAGE_BYTES, MAX_REQUEST_CHARS, free_port
from tests.rpc.harness import RunningServer, server_settings


EMBED_MODEL = "qwen3-embedding-tiny"
RERANK_MODEL = "qwen3-reranker-tiny"


@pytest.fixture(scope="session")
def http_plans(models_dir: Path) -> list[ModelPlan]:
    return plan(server_settings(models_dir))


@pytest.fixture(scope="session")
def http_served(models_dir: Path, http_plans: list[ModelPlan]) -> Iterator[RunningServer]:
    settings = server_settings(
        models_dir,
        http_port=free_port(),
        metrics_port=free_port(),
        max_inputs_per_request=MAX_INPUTS,
        max_input_chars=MAX_CHARS,
        max_request_chars=MAX_REQUEST_CHARS,
        max_message_bytes=MAX_MESSAGE_BYTES,
    )
    server = RunningServer(settings, http_plans).load()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def http(http_served: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=http_served.http_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="session")
def http_channel(http_served: RunningServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(http_served.target) as ch:
        yield ch


def grpc_vectors(channel: grpc.Channel, texts: list[str], **options: Any) -> list[np.ndarray]:
    """The gRPC API's float32 vectors for the same texts and options: what every front must equal."""
    request = embed_pb2.EmbedRequest(model=EMBED_MODEL, inputs=texts, options=embed_pb2.EmbedOptions(**options))
    response = embed_pb2_grpc.EmbedServiceStub(channel).Embed(request, timeout=60)
    return [np.array(e.float_values, dtype=np.float32) for e in response.embeddings]


def grpc_scores(channel: grpc.Channel, query: str, documents: list[str]) -> dict[int, float]:
    """The gRPC API's rerank score of each document, by index."""
    request = rerank_pb2.RerankRequest(query=query, documents=documents)
    response = rerank_pb2_grpc.RerankServiceStub(channel).Rerank(request, timeout=60)
    return {r.index: r.score for r in response.results}


@pytest.fixture(scope="session")
def http_embed_plans(http_plans: list[ModelPlan]) -> list[ModelPlan]:
    """Only the embedding model: for servers of one test that need not rerank."""
    return [p for p in http_plans if p.model_id == EMBED_MODEL]
