"""Rerank scored by BGE-M3's hybrid score (SCORING_HYBRID) through the real server on the tiny BGE-M3
(F32): equal to the numpy reference's weighted dense + lexical + ColBERT score within 1e-4."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from service.rpc.generated.embedroute.v1 import rerank_pb2, rerank_pb2_grpc
from tests.conftest import M3_MODEL, M3Models
from tests.models.m3_numpy import M3Reference
from tests.rpc.conftest import EMBED_MODEL
from tests.rpc.harness import RunningServer, details_of, rich_status

QUERY = "What is the capital of France?"
DOCS = [
    "Paris is the capital of France, a city on a river.",
    "Gravity is a force that attracts two bodies towards each other.",
    "the capital city of China",
]
HYBRID = rerank_pb2.SCORING_HYBRID


@pytest.fixture(scope="module")
def stub(m3_served: RunningServer) -> Iterator[rerank_pb2_grpc.RerankServiceStub]:
    with grpc.insecure_channel(m3_served.target) as channel:
        yield rerank_pb2_grpc.RerankServiceStub(channel)


@pytest.fixture(scope="module")
def reference(m3_models: M3Models) -> M3Reference:
    return M3Reference(m3_models.checkpoint)


@pytest.mark.parametrize("weights", [None, (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (0.2, 0.5, 0.3)])
def test_hybrid_equals_the_reference(
    stub: rerank_pb2_grpc.RerankServiceStub, reference: M3Reference, weights: tuple[float, float, float] | None
) -> None:
    request = rerank_pb2.RerankRequest(query=QUERY, documents=DOCS, scoring=HYBRID)
    if weights is not None:
        request.hybrid_weights.CopyFrom(rerank_pb2.HybridWeights(dense=weights[0], sparse=weights[1], colbert=weights[2]))
    reply = stub.Rerank(request)
    assert (reply.model, reply.scoring) == (M3_MODEL, HYBRID)
    want = {i: reference.hybrid_score(QUERY, d, weights or (0.4, 0.2, 0.4)) for i, d in enumerate(DOCS)}
    assert [r.index for r in reply.results] == sorted(want, key=lambda i: (-want[i], i))
    for r in reply.results:
        assert abs(r.score - want[r.index]) <= 1e-4, (r.index, r.score, want[r.index])
        assert r.prompt_tokens == len(reference.tokenize(DOCS[r.index]))


def test_colbert_alone_is_maxsim_over_the_colbert_vectors_divided_by_the_query_length(
    stub: rerank_pb2_grpc.RerankServiceStub, reference: M3Reference
) -> None:
    """MaxSim on a ColBERT model runs over its ColBERT vectors: ColBERT's sum, BGE-M3's mean times n."""
    maxsim = stub.Rerank(rerank_pb2.RerankRequest(query=QUERY, documents=DOCS, scoring=rerank_pb2.SCORING_MAXSIM))
    n = len(reference.tokenize(QUERY)) - 1
    for r in maxsim.results:
        assert abs(r.score / n - reference.hybrid_score(QUERY, DOCS[r.index], (0.0, 0.0, 1.0))) <= 1e-4


def test_the_stream_carries_the_weights(stub: rerank_pb2_grpc.RerankServiceStub) -> None:
    weights = rerank_pb2.HybridWeights(dense=0.0, sparse=1.0, colbert=0.0)
    first = rerank_pb2.RerankStreamRequest(query=QUERY, documents=DOCS[:2], top_n=3, scoring=HYBRID, hybrid_weights=weights)
    replies = list(stub.RerankStream(iter([first, rerank_pb2.RerankStreamRequest(documents=DOCS[2:])])))
    unary = stub.Rerank(rerank_pb2.RerankRequest(query=QUERY, documents=DOCS, scoring=HYBRID, hybrid_weights=weights))
    assert replies[-1].final and replies[-1].scoring == HYBRID
    assert [(r.index, round(r.score, 5)) for r in replies[-1].results] == [(r.index, round(r.score, 5)) for r in unary.results]


def _violations(call: object) -> list[tuple[str, str]]:
    with pytest.raises(grpc.RpcError) as caught:
        call()  # type: ignore[operator]
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    return [(v.field, v.description) for v in details_of(status)["BadRequest"].field_violations]


def test_bad_weights_are_invalid_argument(stub: rerank_pb2_grpc.RerankServiceStub) -> None:
    def rerank(scoring: int, **weights: float) -> object:
        hybrid = rerank_pb2.HybridWeights(**weights)
        return lambda: stub.Rerank(rerank_pb2.RerankRequest(query=QUERY, documents=DOCS, scoring=scoring, hybrid_weights=hybrid))

    assert _violations(rerank(HYBRID, dense=-1.0, sparse=1.0)) == [
        ("hybrid_weights.dense", "-1.0 is not a weight: it must be a finite number, at least 0")
    ]
    assert [f for f, _ in _violations(rerank(HYBRID))] == ["hybrid_weights"]
    assert _violations(rerank(rerank_pb2.SCORING_MAXSIM, dense=1.0)) == [
        ("hybrid_weights", "hybrid weights need scoring hybrid")
    ]


def test_a_model_without_the_heads_weighs_only_dense(channel: grpc.Channel) -> None:
    """Qwen3-Embedding has no sparse or ColBERT head: hybrid scoring names what it lacks, and with
    only a dense weight it is the cosine fallback's score."""
    stub = rerank_pb2_grpc.RerankServiceStub(channel)
    found = _violations(lambda: stub.Rerank(rerank_pb2.RerankRequest(query=QUERY, documents=DOCS, scoring=HYBRID)))
    assert found == [(
        "model",
        f"{EMBED_MODEL} has no sparse or colbert head: hybrid scoring needs a model converted with BGE-M3's heads, "
        "or a weight of 0 for what it lacks",
    )]
    dense = stub.Rerank(rerank_pb2.RerankRequest(
        query=QUERY, documents=DOCS, scoring=HYBRID, hybrid_weights=rerank_pb2.HybridWeights(dense=2.0)))
    cosine = stub.Rerank(rerank_pb2.RerankRequest(query=QUERY, documents=DOCS, scoring=rerank_pb2.SCORING_COSINE))
    # Hybrid reads token states, which a causal model decodes in steps of at most 32 rows, and the
    # served Q8_0 file's states move by up to ~5e-4 with how a sequence is split over decodes.
    cosines = {r.index: r.score for r in cosine.results}
    assert sorted(r.index for r in dense.results) == [0, 1, 2]
    for r in dense.results:
        assert abs(r.score - cosines[r.index]) <= 2e-3
