"""RerankService with no reranker served: cosine over the embedding model, and said so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from service.rpc.generated.embedroute.v1 import model_pb2, model_pb2_grpc, rerank_pb2, rerank_pb2_grpc
from router.types import EngineSettings
from service.core.values import EmbedOptions
from service.engine import load_model
from service.serve import plan
from tests.rpc.harness import RunningServer, server_settings

EMBED_MODEL = "qwen3-embedding-tiny"
RERANK_MODEL = "qwen3-reranker-tiny"
QUERY = "What is the capital of China?"
DOCS = ["The capital of China is Beijing.", "Gravity pulls bodies together.", "Bread needs flour and water."]
INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"


@pytest.fixture(scope="module")
def embed_only(models_dir: Path) -> Iterator[RunningServer]:
    settings = server_settings(models_dir)
    server = RunningServer(settings, [p for p in plan(settings) if p.model_id == EMBED_MODEL]).load()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def expected(embed_only: RunningServer) -> list[float]:
    """The cosines computed straight from the engine, on the file the server loaded.

    The documents and the query go through one decode, as the server runs them: a quantised
    encoder's vectors move by up to 3e-3 with the decode's company (llama.cpp's kernels)."""
    chosen = embed_only.server.registry.get(EMBED_MODEL).chosen
    assert chosen is not None
    model = load_model(chosen.description.path, EngineSettings(n_ctx=512, n_threads=1))
    query_options, doc_options = EmbedOptions(input_type="query", instruction=INSTRUCTION), EmbedOptions()
    try:
        items = [model.prepare_embed(doc, doc_options) for doc in DOCS] + [model.prepare_embed(QUERY, query_options)]
        vectors = [model.embedding(row, item, doc_options).vector for row, item in zip(model.run(items), items)]
    finally:
        model.close()
    return [float(np.dot(vectors[-1], doc)) for doc in vectors[:-1]]


def test_rerank_scores_are_cosines(embed_only: RunningServer, expected: list[float]) -> None:
    with grpc.insecure_channel(embed_only.target) as channel:
        reply = rerank_pb2_grpc.RerankServiceStub(channel).Rerank(
            rerank_pb2.RerankRequest(query=QUERY, documents=DOCS, instruction=INSTRUCTION, top_n=2)
        )
    assert reply.model == EMBED_MODEL
    assert reply.scoring == rerank_pb2.SCORING_COSINE
    order = sorted(range(len(DOCS)), key=lambda i: -expected[i])[:2]
    assert [r.index for r in reply.results] == order
    assert [r.score for r in reply.results] == [pytest.approx(expected[i], abs=1e-5) for i in order]
    assert all(r.prompt_tokens > 0 for r in reply.results)


def test_stream_says_cosine_on_every_response(embed_only: RunningServer, expected: list[float]) -> None:
    requests = [
        rerank_pb2.RerankStreamRequest(query=QUERY, instruction=INSTRUCTION, top_n=1, documents=DOCS[:2]),
        rerank_pb2.RerankStreamRequest(documents=DOCS[2:]),
    ]
    with grpc.insecure_channel(embed_only.target) as channel:
        replies = list(rerank_pb2_grpc.RerankServiceStub(channel).RerankStream(iter(requests)))
    assert [(r.final, r.model, r.scoring) for r in replies] == [
        (False, EMBED_MODEL, rerank_pb2.SCORING_COSINE),
        (False, EMBED_MODEL, rerank_pb2.SCORING_COSINE),
        (True, EMBED_MODEL, rerank_pb2.SCORING_COSINE),
    ]
    best = max(range(len(DOCS)), key=lambda i: expected[i])
    assert [r.index for r in replies[-1].results] == [best]
    # Chunks are decoded in other company than `expected`'s one decode (see there).
    assert replies[-1].results[0].score == pytest.approx(expected[best], abs=3e-3)


def test_model_service_marks_the_cosine_model(embed_only: RunningServer) -> None:
    with grpc.insecure_channel(embed_only.target) as channel:
        stub = model_pb2_grpc.ModelServiceStub(channel)
        listed = stub.ListModels(model_pb2.ListModelsRequest()).models
        one = stub.GetModel(model_pb2.GetModelRequest(model=EMBED_MODEL)).model
    assert [(m.id, m.serves_rerank_by_cosine) for m in listed] == [(EMBED_MODEL, True)]
    assert one.serves_rerank_by_cosine


def test_a_served_reranker_scores_itself(models_dir: Path) -> None:
    server = RunningServer(server_settings(models_dir)).load()
    try:
        with grpc.insecure_channel(server.target) as channel:
            reply = rerank_pb2_grpc.RerankServiceStub(channel).Rerank(
                rerank_pb2.RerankRequest(query=QUERY, documents=DOCS)
            )
            listed = model_pb2_grpc.ModelServiceStub(channel).ListModels(model_pb2.ListModelsRequest()).models
    finally:
        server.stop()
    assert (reply.model, reply.scoring) == (RERANK_MODEL, rerank_pb2.SCORING_RERANKER)
    assert all(0.0 <= r.score <= 1.0 for r in reply.results)
    assert sorted((m.id, m.serves_rerank_by_cosine) for m in listed) == [(EMBED_MODEL, False), (RERANK_MODEL, False)]
