"""The `cohere` SDK's ClientV2.rerank, and Jina-style bodies, rerank through /v2/rerank, /v1/rerank and /rerank
with the gRPC API's scores; with no reranker served the cosine fallback says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cohere
import grpc
import httpx
import numpy as np
import pytest

from router import ModelPlan
from tests.hardening.conftest import free_port
from tests.http.conftest import EMBED_MODEL, RERANK_MODEL, grpc_scores
from tests.rpc.harness import RunningServer, server_settings

QUERY = "What is the capital of France?"
DOCUMENTS = ["Paris is the capital of France.", "Bananas are yellow.", "France borders Spain.", "Berlin is in Germany."]


def best_first(scores: dict[int, float]) -> list[int]:
    return sorted(scores, key=lambda i: (-scores[i], i))


def f32(values: list[float]) -> list[np.float32]:
    """gRPC carries scores as float32 and JSON as float64: equal means equal at float32."""
    return [np.float32(v) for v in values]


@pytest.fixture(scope="module")
def client(http_served: RunningServer) -> cohere.ClientV2:
    return cohere.ClientV2(api_key="unused", base_url=http_served.http_url, max_retries=0)


def test_cohere_sdk_v2_rerank(client: cohere.ClientV2, http_channel: grpc.Channel) -> None:
    want = grpc_scores(http_channel, QUERY, DOCUMENTS)
    response = client.rerank(model=RERANK_MODEL, query=QUERY, documents=DOCUMENTS)
    assert [r.index for r in response.results] == best_first(want)
    assert f32([r.relevance_score for r in response.results]) == f32([want[i] for i in best_first(want)])
    assert response.meta is not None and response.meta.warnings is None
    top = client.rerank(model=RERANK_MODEL, query=QUERY, documents=DOCUMENTS, top_n=2)
    assert [r.index for r in top.results] == best_first(want)[:2]
    every = client.rerank(model=RERANK_MODEL, query=QUERY, documents=DOCUMENTS, top_n=len(DOCUMENTS) + 5)
    assert [r.index for r in every.results] == best_first(want)  # as Cohere: all of them, not a 400


@pytest.mark.parametrize("path", ["/v1/rerank", "/v2/rerank", "/rerank"])
def test_jina_documents_as_text_objects(http: httpx.Client, http_channel: grpc.Channel, path: str) -> None:
    want = grpc_scores(http_channel, QUERY, DOCUMENTS)
    body = {
        "model": RERANK_MODEL, "query": QUERY, "documents": [{"text": d} for d in DOCUMENTS[:2]] + DOCUMENTS[2:],
        "top_n": 3, "return_documents": True,
    }
    answer = http.post(path, json=body)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["index"] for r in results] == best_first(want)[:3]
    assert f32([r["relevance_score"] for r in results]) == f32([want[i] for i in best_first(want)[:3]])
    assert [r["document"] for r in results] == [{"text": DOCUMENTS[i]} for i in best_first(want)[:3]]
    assert answer.json()["model"] == RERANK_MODEL and answer.json()["scoring"] == "reranker"
    assert answer.json()["usage"]["total_tokens"] > 0


@pytest.fixture(scope="module")
def embed_only(models_dir: Path, http_plans: list[ModelPlan]) -> Iterator[RunningServer]:
    plans = [p for p in http_plans if p.model_id == EMBED_MODEL]
    server = RunningServer(server_settings(models_dir, http_port=free_port()), plans).load()
    yield server
    server.stop()


def test_cosine_fallback_says_so(embed_only: RunningServer) -> None:
    with grpc.insecure_channel(embed_only.target) as channel:
        want = grpc_scores(channel, QUERY, DOCUMENTS)
    response = cohere.ClientV2(api_key="unused", base_url=embed_only.http_url, max_retries=0).rerank(
        model="", query=QUERY, documents=DOCUMENTS
    )
    assert f32([r.relevance_score for r in response.results]) == f32([want[i] for i in best_first(want)])
    assert response.meta is not None
    assert response.meta.warnings == [f"no reranker is served: scores are cosine similarities of {EMBED_MODEL} embeddings"]
    raw = httpx.post(f"{embed_only.http_url}/v1/rerank", json={"query": QUERY, "documents": DOCUMENTS}, timeout=60)
    assert raw.json()["scoring"] == "cosine" and raw.json()["model"] == EMBED_MODEL
