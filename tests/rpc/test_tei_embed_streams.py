"""tei.v1 Embed/EmbedAllStream and Embed/EmbedSparseStream through the real server: one answer per
message, in request order, each equal to its unary call's (exactly for the decoder model; for the
XLM-R model within float32 rounding, 1e-6, since the stream's messages share a decode with their
neighbours and a batched encoder's states differ from a lone one's in the last bit); a bad message mid-stream ends the stream
with INVALID_ARGUMENT after the answers before it; a sparse stream on a model without the sparse head
is INVALID_ARGUMENT, saying so."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import numpy as np
import pytest

from service.rpc.generated.tei.v1 import tei_pb2, tei_pb2_grpc
from tests.rpc.harness import RunningServer, details_of, rich_status

TEXTS = [
    "What is the capital of China?",
    "hi",
    "Paris is the capital of France, and Berlin is the capital of Germany; Rome is that of Italy.",
    "the model model query",
    "Bananas are yellow.",
]


@pytest.fixture(scope="module")
def m3_embed(m3_served: RunningServer) -> Iterator[tei_pb2_grpc.EmbedStub]:
    with grpc.insecure_channel(m3_served.target) as ch:
        yield tei_pb2_grpc.EmbedStub(ch)


@pytest.fixture(scope="module")
def embed(channel: grpc.Channel) -> tei_pb2_grpc.EmbedStub:
    return tei_pb2_grpc.EmbedStub(channel)


def _all(reply: tei_pb2.EmbedAllResponse) -> list[list[float]]:
    return [list(t.embeddings) for t in reply.token_embeddings]


def _sparse(reply: tei_pb2.EmbedSparseResponse) -> list[tuple[int, float]]:
    return [(v.index, v.value) for v in reply.sparse_embeddings]


def test_embed_all_stream_equals_unary_calls_in_order(embed: tei_pb2_grpc.EmbedStub) -> None:
    requests = [tei_pb2.EmbedAllRequest(inputs=t) for t in TEXTS]
    streamed = list(embed.EmbedAllStream(iter(requests)))
    unary = [embed.EmbedAll(r) for r in requests]
    assert [_all(r) for r in streamed] == [_all(r) for r in unary]
    assert [len(r.token_embeddings) for r in streamed] == [r.metadata.compute_tokens for r in unary]
    assert [r.metadata.compute_chars for r in streamed] == [len(t) for t in TEXTS]
    assert [r.metadata.compute_tokens for r in streamed] == [r.metadata.compute_tokens for r in unary]


def test_embed_sparse_stream_equals_unary_calls_in_order(m3_embed: tei_pb2_grpc.EmbedStub) -> None:
    requests = [tei_pb2.EmbedSparseRequest(inputs=t) for t in TEXTS]
    streamed = list(m3_embed.EmbedSparseStream(iter(requests)))
    unary = [m3_embed.EmbedSparse(r) for r in requests]
    for got, want in zip(streamed, unary, strict=True):
        assert [i for i, _ in _sparse(got)] == [i for i, _ in _sparse(want)]
        np.testing.assert_allclose([v for _, v in _sparse(got)], [v for _, v in _sparse(want)], rtol=0, atol=1e-6)
    assert len({tuple(_sparse(r)) for r in streamed}) == len(TEXTS)
    assert [r.metadata.compute_chars for r in streamed] == [len(t) for t in TEXTS]
    assert [r.metadata.compute_tokens for r in streamed] == [r.metadata.compute_tokens for r in unary]


def test_embed_all_stream_of_bge_m3_prompt_is_its_unary_call(m3_embed: tei_pb2_grpc.EmbedStub) -> None:
    requests = [tei_pb2.EmbedAllRequest(inputs=t, prompt_name="query") for t in TEXTS[:2]]
    streamed = list(m3_embed.EmbedAllStream(iter(requests)))
    assert len(streamed) == len(requests)
    for got, request in zip(streamed, requests, strict=True):
        np.testing.assert_allclose(_all(got), _all(m3_embed.EmbedAll(request)), rtol=0, atol=1e-6)


def _until_error(answers: Iterator[object]) -> tuple[int, grpc.RpcError]:
    delivered = 0
    with pytest.raises(grpc.RpcError) as caught:
        for _ in answers:
            delivered += 1
    return delivered, caught.value


def test_a_bad_message_mid_stream_is_invalid_argument(
    embed: tei_pb2_grpc.EmbedStub, m3_embed: tei_pb2_grpc.EmbedStub
) -> None:
    left = tei_pb2.TRUNCATION_DIRECTION_LEFT
    all_requests = [tei_pb2.EmbedAllRequest(inputs=TEXTS[0]), tei_pb2.EmbedAllRequest(inputs="x", truncation_direction=left)]
    delivered, error = _until_error(embed.EmbedAllStream(iter(all_requests)))
    assert (delivered, error.code()) == (1, grpc.StatusCode.INVALID_ARGUMENT)
    assert "TRUNCATION_DIRECTION_RIGHT" in (error.details() or "")
    sparse_requests = [tei_pb2.EmbedSparseRequest(inputs=t) for t in (TEXTS[0], TEXTS[1], " ")]
    delivered, error = _until_error(m3_embed.EmbedSparseStream(iter(sparse_requests)))
    assert (delivered, error.code()) == (2, grpc.StatusCode.INVALID_ARGUMENT)


def test_sparse_stream_without_the_sparse_head_is_invalid_argument(embed: tei_pb2_grpc.EmbedStub) -> None:
    delivered, error = _until_error(embed.EmbedSparseStream(iter([tei_pb2.EmbedSparseRequest(inputs=TEXTS[0])])))
    code, status = rich_status(error)
    assert (delivered, code) == (0, grpc.StatusCode.INVALID_ARGUMENT)
    violations = details_of(status)["BadRequest"].field_violations
    assert [v.field for v in violations] == ["model"]
    assert "has no sparse head" in violations[0].description
