"""Cohere's rerank body with `scoring: "hybrid"` and `hybrid_weights`: the gRPC API's scores, and its
errors in Cohere's shape."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import httpx
import pytest

from service.rpc.generated.embedroute.v1 import rerank_pb2, rerank_pb2_grpc
from tests.rpc.harness import RunningServer

QUERY = "What is the capital of France?"
DOCS = ["Paris is the capital of France.", "Gravity attracts two bodies.", "the capital city of China"]


@pytest.fixture(scope="module")
def m3_http(m3_served: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=m3_served.http_url, timeout=60) as client:
        yield client


def test_hybrid_body_equals_grpc(m3_http: httpx.Client, m3_served: RunningServer) -> None:
    body = {"query": QUERY, "documents": DOCS, "scoring": "hybrid", "hybrid_weights": {"dense": 1, "sparse": 0.5}}
    answer = m3_http.post("/v2/rerank", json=body)
    assert answer.status_code == 200, answer.text
    with grpc.insecure_channel(m3_served.target) as channel:
        reply = rerank_pb2_grpc.RerankServiceStub(channel).Rerank(rerank_pb2.RerankRequest(
            query=QUERY, documents=DOCS, scoring=rerank_pb2.SCORING_HYBRID,
            hybrid_weights=rerank_pb2.HybridWeights(dense=1.0, sparse=0.5, colbert=0.0)))
    got = answer.json()
    assert got["scoring"] == "hybrid"
    assert [(r["index"], pytest.approx(r["relevance_score"], abs=1e-6)) for r in got["results"]] == [
        (r.index, r.score) for r in reply.results
    ]


def test_bad_weights_in_cohere_shape(m3_http: httpx.Client) -> None:
    for weights, param in (({"dense": "a lot"}, "hybrid_weights.dense"), ([0.4, 0.2, 0.4], "hybrid_weights"),
                           ({"dense": -1}, "hybrid_weights.dense")):
        answer = m3_http.post("/v2/rerank", json={"query": QUERY, "documents": DOCS, "scoring": "hybrid",
                                                  "hybrid_weights": weights})
        assert answer.status_code == 400, answer.text
        assert param in answer.text, answer.text
