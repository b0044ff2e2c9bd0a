"""Rerank of one query over N documents, through the raw engine and through the service."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import grpc

from bench.timing import Latency
from service.rpc.generated.embedroute.v1 import rerank_pb2, rerank_pb2_grpc
from router.types import EngineSettings
from service.engine import Model, load_model


def engine_rerank(path: Path, settings: EngineSettings, query: str, documents: Sequence[str], repeats: int) -> Latency:
    model: Model = load_model(path, settings)
    try:
        model.rerank(query, documents[:2])  # allocate and touch the buffers before timing
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            scores = model.rerank(query, documents)
            seconds.append(time.perf_counter() - started)
        if len(scores) != len(documents):
            raise RuntimeError(f"engine returned {len(scores)} scores for {len(documents)} documents")
    finally:
        model.close()
    return Latency.of(seconds)


def service_rerank(target: str, model: str, query: str, documents: Sequence[str], repeats: int) -> Latency:
    request = rerank_pb2.RerankRequest(model=model, query=query, documents=list(documents))
    with grpc.insecure_channel(target) as channel:
        stub = rerank_pb2_grpc.RerankServiceStub(channel)
        stub.Rerank(rerank_pb2.RerankRequest(model=model, query=query, documents=list(documents[:2])), timeout=600)
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            reply = stub.Rerank(request, timeout=600)
            seconds.append(time.perf_counter() - started)
        if len(reply.results) != len(documents):
            raise RuntimeError(f"service returned {len(reply.results)} results for {len(documents)} documents")
    return Latency.of(seconds)
