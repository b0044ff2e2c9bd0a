"""Cohere's (and TEI's) rerank body with `scoring: "hybrid"` and `hybrid_weights`: the gRPC API's scores, and its
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


def test_tei_rerank_takes_scoring_and_weights(m3_http: httpx.Client, m3_served: RunningServer) -> None:
    """TEI's `/rerank` body (`texts`) takes the same extension: a TEI client of a BGE-M3 server asks for
    the hybrid score, or MaxSim, and gets the gRPC API's scores in TEI's shape."""
    with grpc.insecure_channel(m3_served.target) as channel:
        stub = rerank_pb2_grpc.RerankServiceStub(channel)
        hybrid = stub.Rerank(rerank_pb2.RerankRequest(
            query=QUERY, documents=DOCS, scoring=rerank_pb2.SCORING_HYBRID,
            hybrid_weights=rerank_pb2.HybridWeights(dense=0.0, sparse=1.0, colbert=2.0)))
        maxsim = stub.Rerank(rerank_pb2.RerankRequest(query=QUERY, documents=DOCS, scoring=rerank_pb2.SCORING_MAXSIM))
    for extra, reply in (({"scoring": "hybrid", "hybrid_weights": {"sparse": 1, "colbert": 2}}, hybrid),
                         ({"scoring": "maxsim", "raw_scores": True}, maxsim)):
        answer = m3_http.post("/rerank", json={"query": QUERY, "texts": DOCS, **extra})
        assert answer.status_code == 200, answer.text
        assert [(r["index"], pytest.approx(r["score"], abs=1e-6)) for r in answer.json()] == [
            (r.index, r.score) for r in reply.results
        ]


def test_tei_rerank_refuses_weights_without_hybrid(m3_http: httpx.Client) -> None:
    answer = m3_http.post("/rerank", json={"query": QUERY, "texts": DOCS, "hybrid_weights": {"dense": 1}})
    assert answer.status_code == 422, answer.text
    assert "hybrid weights need scoring hybrid" in answer.json()["error"], answer.text
