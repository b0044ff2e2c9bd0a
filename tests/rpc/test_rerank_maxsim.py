"""Rerank scored by late interaction (scoring MAXSIM) and the request's choice of scoring, through the
real server that also serves a reranker: MaxSim over EmbedTokens' own vectors, best first."""

from __future__ import annotations

import grpc
import numpy as np
import pytest

from service.rpc.generated.embedroute.v1 import common_pb2, embed_pb2, embed_pb2_grpc, rerank_pb2, rerank_pb2_grpc
from tests.rpc.conftest import EMBED_MODEL, RERANK_MODEL
from tests.rpc.harness import details_of, rich_status

QUERY = "What is the capital of China?"
DOCS = [
    "The capital of China is Beijing.",
    "Gravity is a force that attracts two bodies towards each other.",
    "Beijing has been the capital for centuries.",
]


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> rerank_pb2_grpc.RerankServiceStub:
    return rerank_pb2_grpc.RerankServiceStub(channel)


def _tokens(channel: grpc.Channel, texts: list[str], input_type: int) -> list[np.ndarray]:
    reply = embed_pb2_grpc.EmbedServiceStub(channel).EmbedTokens(
        embed_pb2.EmbedTokensRequest(model=EMBED_MODEL, inputs=texts, options=embed_pb2.EmbedOptions(input_type=input_type))
    )
    return [np.array([v.float_values for v in t.vectors], dtype=np.float64) for t in reply.inputs]


def test_maxsim_equals_numpy_over_token_vectors(stub: rerank_pb2_grpc.RerankServiceStub, channel: grpc.Channel) -> None:
    reply = stub.Rerank(rerank_pb2.RerankRequest(query=QUERY, documents=DOCS, scoring=rerank_pb2.SCORING_MAXSIM))
    assert reply.scoring == rerank_pb2.SCORING_MAXSIM and reply.model == EMBED_MODEL
    (query,) = _tokens(channel, [QUERY], common_pb2.INPUT_TYPE_QUERY)
    documents = _tokens(channel, DOCS, common_pb2.INPUT_TYPE_DOCUMENT)
    want = {i: float(np.max(query @ d.T, axis=1).sum()) for i, d in enumerate(documents)}
    assert [r.index for r in reply.results] == sorted(want, key=lambda i: (-want[i], i))
    for r in reply.results:  # the served Q8_0 file's rows move by ~5e-5 with how decodes are grouped
        assert abs(r.score - want[r.index]) / len(query) < 2e-4, (r.score, want[r.index], len(query))
        assert r.prompt_tokens == len(documents[r.index])


def test_asked_cosine_uses_the_embedding_model_beside_a_reranker(stub: rerank_pb2_grpc.RerankServiceStub) -> None:
    cosine = stub.Rerank(rerank_pb2.RerankRequest(query=QUERY, documents=DOCS, scoring=rerank_pb2.SCORING_COSINE))
    default = stub.Rerank(rerank_pb2.RerankRequest(query=QUERY, documents=DOCS))
    assert (cosine.model, cosine.scoring) == (EMBED_MODEL, rerank_pb2.SCORING_COSINE)
    assert (default.model, default.scoring) == (RERANK_MODEL, rerank_pb2.SCORING_RERANKER)
    assert all(-1.0 <= r.score <= 1.0 for r in cosine.results)


def test_maxsim_stream_says_how_it_scored(stub: rerank_pb2_grpc.RerankServiceStub) -> None:
    first = rerank_pb2.RerankStreamRequest(query=QUERY, documents=DOCS[:2], top_n=2, scoring=rerank_pb2.SCORING_MAXSIM)
    replies = list(stub.RerankStream(iter([first, rerank_pb2.RerankStreamRequest(documents=DOCS[2:])])))
    assert all(r.scoring == rerank_pb2.SCORING_MAXSIM and r.model == EMBED_MODEL for r in replies)
    unary = stub.Rerank(rerank_pb2.RerankRequest(query=QUERY, documents=DOCS, scoring=rerank_pb2.SCORING_MAXSIM))
    assert [r.index for r in replies[-1].results] == [r.index for r in unary.results[:2]]


@pytest.mark.parametrize(
    ("request_", "field", "reason"),
    [
        (rerank_pb2.RerankRequest(model=RERANK_MODEL, scoring=rerank_pb2.SCORING_MAXSIM), "model", "WRONG_MODEL_KIND"),
        (rerank_pb2.RerankRequest(model=EMBED_MODEL, scoring=rerank_pb2.SCORING_RERANKER), "model", "WRONG_MODEL_KIND"),
        (rerank_pb2.RerankRequest(scoring=9), "scoring", "INVALID_ARGUMENT"),  # type: ignore[arg-type]
    ],
)
def test_scoring_a_model_cannot_give_is_refused(
    stub: rerank_pb2_grpc.RerankServiceStub, request_: rerank_pb2.RerankRequest, field: str, reason: str
) -> None:
    request = rerank_pb2.RerankRequest(query=QUERY, documents=DOCS)
    request.MergeFrom(request_)
    with pytest.raises(grpc.RpcError) as caught:
        stub.Rerank(request)
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    details = details_of(status)
    assert [v.field for v in details["BadRequest"].field_violations] == [field]
    assert details["ErrorInfo"].reason == reason
