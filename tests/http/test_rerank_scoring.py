"""The Cohere/Jina rerank body's `scoring` extension: "maxsim" (late interaction) or "cosine" over the
embedding model, the same scores as the gRPC API's; an unknown name is a 400 naming `scoring`."""

from __future__ import annotations

import grpc
import httpx
import numpy as np

from service.rpc.generated.embedroute.v1 import rerank_pb2, rerank_pb2_grpc
from tests.http.conftest import EMBED_MODEL

QUERY = "What is the capital of China?"
DOCUMENTS = ["The capital of China is Beijing.", "Bread is made from flour, water and yeast."]


def test_maxsim_over_http_equals_grpc(http: httpx.Client, http_channel: grpc.Channel) -> None:
    want = rerank_pb2_grpc.RerankServiceStub(http_channel).Rerank(
        rerank_pb2.RerankRequest(query=QUERY, documents=DOCUMENTS, scoring=rerank_pb2.SCORING_MAXSIM)
    )
    answer = http.post("/v1/rerank", json={"query": QUERY, "documents": DOCUMENTS, "scoring": "maxsim"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["scoring"] == "maxsim" and body["model"] == EMBED_MODEL
    assert [r["index"] for r in body["results"]] == [r.index for r in want.results]
    got = np.array([r["relevance_score"] for r in body["results"]], dtype=np.float32)
    np.testing.assert_allclose(got, [r.score for r in want.results], atol=1e-3)


def test_unknown_scoring_names_the_field(http: httpx.Client) -> None:
    answer = http.post("/v1/rerank", json={"query": QUERY, "documents": DOCUMENTS, "scoring": "bm25"})
    assert answer.status_code == 400, answer.text
    assert "scoring" in answer.text and "maxsim" in answer.text
