"""RerankStream: documents in chunks, each chunk's scores as soon as scored, a final top_n."""

from __future__ import annotations

import grpc
import pytest

from service.rpc.generated.embedroute.v1 import rerank_pb2, rerank_pb2_grpc
from tests.rpc.harness import details_of, rich_status

QUERY = "Which documents talk about rivers?"
DOCS = [
    f"document {i}: {topic}" for i, topic in enumerate(["rivers and lakes", "stars", "bread", "the Nile river"] * 6)
]


def chunked(top_n: int) -> list[rerank_pb2.RerankStreamRequest]:
    head = rerank_pb2.RerankStreamRequest(query=QUERY, top_n=top_n, return_documents=True, documents=DOCS[:5])
    rest = [rerank_pb2.RerankStreamRequest(documents=DOCS[i : i + 7]) for i in range(5, len(DOCS), 7)]
    return [head, *rest]


def test_chunks_then_final_top_n(channel: grpc.Channel) -> None:
    stub = rerank_pb2_grpc.RerankServiceStub(channel)
    unary = stub.Rerank(rerank_pb2.RerankRequest(query=QUERY, documents=DOCS, return_documents=True))
    responses = list(stub.RerankStream(iter(chunked(top_n=5)), timeout=120))
    *chunks, final = responses
    assert final.final and not any(r.final for r in chunks)
    assert sorted(r.chunk for r in chunks) == [0, 1, 2, 3]
    sizes = {r.chunk: len(r.results) for r in chunks}
    assert sizes == {0: 5, 1: 7, 2: 7, 3: 5}
    for response in chunks:
        scores = [r.score for r in response.results]
        assert scores == sorted(scores, reverse=True)
    streamed = {r.index: r for response in chunks for r in response.results}
    assert sorted(streamed) == list(range(len(DOCS)))
    for result in unary.results:
        # Chunks are batched differently from the unary call, and llama.cpp's kernels then sum
        # in another order: scores agree to about 1e-5, not bit for bit.
        assert streamed[result.index].score == pytest.approx(result.score, abs=1e-4)
        assert streamed[result.index].document == DOCS[result.index]
    assert [r.index for r in final.results] == sorted(streamed, key=lambda i: -streamed[i].score)[:5]
    assert {r.index for r in final.results} == {r.index for r in unary.results[:5]}
    assert final.usage.prompt_tokens == unary.usage.prompt_tokens
    assert final.model == "qwen3-reranker-tiny"


def test_options_only_in_first_message(channel: grpc.Channel) -> None:
    stub = rerank_pb2_grpc.RerankServiceStub(channel)
    requests = [
        rerank_pb2.RerankStreamRequest(query=QUERY, documents=DOCS[:2]),
        rerank_pb2.RerankStreamRequest(query="another query", documents=DOCS[2:4]),
    ]
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.RerankStream(iter(requests), timeout=60))
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in details_of(status)["BadRequest"].field_violations] == ["query"]
