"""EmbedStream: every input answered once, by id, with the same vector as unary Embed."""

from __future__ import annotations

import grpc
import numpy as np
import pytest

from service.rpc.generated.embedroute.v1 import common_pb2, embed_pb2, embed_pb2_grpc
from tests.rpc.harness import details_of, rich_status

TEXTS = [f"document number {i} about {topic}" for i, topic in enumerate(["rivers", "stars", "bread", "glass"] * 5)]


def test_stream_matches_unary(channel: grpc.Channel) -> None:
    stub = embed_pb2_grpc.EmbedServiceStub(channel)
    query = embed_pb2.EmbedOptions(input_type=common_pb2.INPUT_TYPE_QUERY, dimensions=128)
    requests = [
        embed_pb2.EmbedStreamRequest(id=f"id-{i}", input=text, options=query if i % 2 else None)
        for i, text in enumerate(TEXTS)
    ]
    responses = list(stub.EmbedStream(iter(requests), timeout=120))
    assert sorted(r.id for r in responses) == sorted(r.id for r in requests)
    by_id = {r.id: r for r in responses}
    for request in requests:
        unary = stub.Embed(embed_pb2.EmbedRequest(inputs=[request.input], options=request.options)).embeddings[0]
        streamed = by_id[request.id]
        assert streamed.model == "qwen3-embedding-tiny"
        assert streamed.embedding.dimensions == (128 if request.HasField("options") else 256)
        # The same input in a decode of other company: llama.cpp's quantised kernels round a little
        # differently with the batch's shape (max difference 2e-3 on Q8_0, 7e-7 on F32), never more.
        streamed_vector = np.array(streamed.embedding.float_values, dtype=np.float64)
        assert float(streamed_vector @ np.array(unary.float_values, dtype=np.float64)) > 0.9999
        assert streamed.usage.prompt_tokens == unary.prompt_tokens > 0


def test_invalid_input_ends_the_stream_with_its_id(channel: grpc.Channel) -> None:
    stub = embed_pb2_grpc.EmbedServiceStub(channel)
    requests = [
        embed_pb2.EmbedStreamRequest(id="good", input="fine"),
        embed_pb2.EmbedStreamRequest(id="bad", input=" "),
    ]
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.EmbedStream(iter(requests), timeout=60))
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    details = details_of(status)
    assert details["ErrorInfo"].metadata["id"] == "bad"
    assert [v.field for v in details["BadRequest"].field_violations] == ["input"]


def test_results_before_a_bad_input_are_delivered_before_its_error(channel: grpc.Channel) -> None:
    stub = embed_pb2_grpc.EmbedServiceStub(channel)
    requests = [
        embed_pb2.EmbedStreamRequest(id="one", input=TEXTS[0]),
        embed_pb2.EmbedStreamRequest(id="two", input=TEXTS[1]),
        embed_pb2.EmbedStreamRequest(id="empty", input=""),
    ]
    received: list[str] = []
    with pytest.raises(grpc.RpcError) as caught:
        for response in stub.EmbedStream(iter(requests), timeout=60):
            received.append(response.id)
    assert sorted(received) == ["one", "two"]
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(status)["ErrorInfo"].metadata["id"] == "empty"
