"""TEI's `/embed_sparse`: `[[{"index", "value"}]]`, one list per input, equal to the EmbedSparse RPC;
422 in TEI's shape for a model without BGE-M3's sparse head."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import httpx
import pytest

from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc
from tests.conftest import M3_MODEL
from tests.rpc.harness import RunningServer

TEXTS = ["What is the capital of China?", "Paris is the capital of France."]


@pytest.fixture(scope="module")
def m3_http(m3_served: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=m3_served.http_url, timeout=60) as client:
        yield client


def _rpc(served: RunningServer, texts: list[str]) -> list[embed_pb2.SparseVector]:
    with grpc.insecure_channel(served.target) as channel:
        request = embed_pb2.EmbedSparseRequest(model=M3_MODEL, inputs=texts)
        return list(embed_pb2_grpc.EmbedServiceStub(channel).EmbedSparse(request).inputs)


def test_embed_sparse_in_tei_shape(m3_http: httpx.Client, m3_served: RunningServer) -> None:
    answer = m3_http.post("/embed_sparse", json={"inputs": TEXTS})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    want = _rpc(m3_served, TEXTS)
    assert len(body) == 2
    for got, vector in zip(body, want, strict=True):
        assert all(set(entry) == {"index", "value"} for entry in got)
        assert [e["index"] for e in got] == list(vector.token_ids)
        assert [e["value"] for e in got] == pytest.approx(list(vector.weights), abs=1e-6)


def test_a_single_input_still_answers_a_list_of_inputs(m3_http: httpx.Client, m3_served: RunningServer) -> None:
    body = m3_http.post("/embed_sparse", json={"inputs": TEXTS[0], "truncate": True}).json()
    assert len(body) == 1 and [e["index"] for e in body[0]] == list(_rpc(m3_served, TEXTS[:1])[0].token_ids)


def test_errors_in_tei_shape(m3_http: httpx.Client, http: httpx.Client) -> None:
    answer = m3_http.post("/embed_sparse", json={"inputs": TEXTS, "truncation_direction": "Left"})
    assert answer.status_code == 422 and answer.json()["error_type"] == "Validation"
    # The shared HTTP server's embedding model (Qwen3) has no sparse head.
    answer = http.post("/embed_sparse", json={"inputs": TEXTS})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error_type"] == "Validation"
    assert "has no sparse head" in answer.json()["error"]
