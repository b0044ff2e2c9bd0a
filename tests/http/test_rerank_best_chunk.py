"""Rerank by best chunk over HTTP (issue #31 item 3): the `best_chunk` extension field on Cohere's
/v1/rerank and TEI's /rerank answers what gRPC's RerankRequest.best_chunk answers (the float32 scores within rounding)."""

from __future__ import annotations

import grpc
import httpx
import pytest

from service.rpc.generated.embedroute.v1 import rerank_pb2, rerank_pb2_grpc
from tests.http.conftest import RERANK_MODEL
from tests.http.test_chunking import LONG

QUERY = "Where does the river go?"
SHORT = "The river runs out to sea."


def grpc_results(channel: grpc.Channel) -> dict[int, rerank_pb2.RerankResult]:
    request = rerank_pb2.RerankRequest(model=RERANK_MODEL, query=QUERY, documents=[LONG, SHORT], best_chunk=True)
    response = rerank_pb2_grpc.RerankServiceStub(channel).Rerank(request, timeout=120)
    return {r.index: r for r in response.results}


def test_without_best_chunk_the_long_document_is_refused(http: httpx.Client) -> None:
    answer = http.post("/v1/rerank", json={"model": RERANK_MODEL, "query": QUERY, "documents": [LONG]})
    assert answer.status_code == 400, answer.text
    assert "the model accepts at most 512" in answer.text


@pytest.mark.parametrize("path", ["/v1/rerank", "/v2/rerank"])
def test_cohere_best_chunk_equals_grpc(http: httpx.Client, http_channel: grpc.Channel, path: str) -> None:
    want = grpc_results(http_channel)
    body = {"model": RERANK_MODEL, "query": QUERY, "documents": [LONG, SHORT], "best_chunk": True}
    answer = http.post(path, json=body)
    assert answer.status_code == 200, answer.text
    got = {r["index"]: r for r in answer.json()["results"]}
    assert want[0].chunks > 1 and want[1].chunks == 1
    for i, r in want.items():
        assert got[i]["relevance_score"] == pytest.approx(r.score, rel=1e-6)
        assert got[i]["best_chunk"] == {"chunks": r.chunks, "start": r.best_start, "end": r.best_end}


def test_tei_best_chunk_equals_grpc(http: httpx.Client, http_channel: grpc.Channel) -> None:
    want = grpc_results(http_channel)
    answer = http.post("/rerank", json={"query": QUERY, "texts": [LONG, SHORT], "best_chunk": True})
    assert answer.status_code == 200, answer.text
    got = {r["index"]: r for r in answer.json()}
    for i, r in want.items():
        assert got[i]["score"] == pytest.approx(r.score, rel=1e-6)
        assert got[i]["best_chunk"] == {"chunks": r.chunks, "start": r.best_start, "end": r.best_end}


def test_best_chunk_must_be_a_boolean(http: httpx.Client) -> None:
    answer = http.post("/v1/rerank", json={"model": RERANK_MODEL, "query": QUERY, "documents": [SHORT], "best_chunk": 1})
    assert answer.status_code == 400 and "best_chunk" in answer.text, answer.text
