"""Tokenize counts what Embed / Rerank would feed the model and shows what truncation keeps."""

from __future__ import annotations

import grpc
import pytest

from service.rpc.generated.embedroute.v1 import common_pb2, embed_pb2, embed_pb2_grpc, tokenize_pb2, tokenize_pb2_grpc
from tests.rpc.conftest import EMBED_MODEL, RERANK_MODEL
from tests.rpc.harness import RunningServer

QUESTION = "What is the capital of China?"


def test_counts_match_embed(channel: grpc.Channel) -> None:
    response = tokenize_pb2_grpc.TokenizeServiceStub(channel).Tokenize(
        tokenize_pb2.TokenizeRequest(model=EMBED_MODEL, inputs=[QUESTION], return_tokens=True)
    )
    embedded = embed_pb2_grpc.EmbedServiceStub(channel).Embed(embed_pb2.EmbedRequest(inputs=[QUESTION]))
    (result,) = response.results
    assert list(result.token_ids) == [3838, 374, 279, 6722, 315, 5616, 30]  # Qwen's own tokenisation
    assert "".join(result.pieces) == QUESTION
    assert result.input_tokens == 7
    assert result.prompt_tokens == embedded.embeddings[0].prompt_tokens == 8  # + <|endoftext|>
    assert not result.would_truncate and result.kept_text == QUESTION
    assert response.context_length == 512
    assert response.usage.prompt_tokens == 8


def test_query_template_counts(channel: grpc.Channel) -> None:
    stub = tokenize_pb2_grpc.TokenizeServiceStub(channel)
    as_query = stub.Tokenize(
        tokenize_pb2.TokenizeRequest(model=EMBED_MODEL, inputs=[QUESTION], input_type=common_pb2.INPUT_TYPE_QUERY)
    )
    query_options = embed_pb2.EmbedOptions(input_type=common_pb2.INPUT_TYPE_QUERY)
    embedded = embed_pb2_grpc.EmbedServiceStub(channel).Embed(
        embed_pb2.EmbedRequest(inputs=[QUESTION], options=query_options)
    )
    assert as_query.results[0].prompt_tokens == embedded.embeddings[0].prompt_tokens > 8


def test_shows_what_truncation_keeps(channel: grpc.Channel, served: RunningServer) -> None:
    text = " ".join(f"w{i}" for i in range(600))
    response = tokenize_pb2_grpc.TokenizeServiceStub(channel).Tokenize(
        tokenize_pb2.TokenizeRequest(model=EMBED_MODEL, inputs=[text])
    )
    (result,) = response.results
    assert result.would_truncate
    assert result.prompt_tokens == result.input_tokens + 1 > 512
    assert result.kept_input_tokens == 511  # the context minus <|endoftext|>
    assert text.startswith(result.kept_text) and len(result.kept_text) < len(text)


def test_reranker_pairs_need_a_query(channel: grpc.Channel) -> None:
    stub = tokenize_pb2_grpc.TokenizeServiceStub(channel)
    paired = stub.Tokenize(tokenize_pb2.TokenizeRequest(model=RERANK_MODEL, inputs=["Beijing."], query=QUESTION))
    assert paired.results[0].prompt_tokens > paired.results[0].input_tokens + 7
    with pytest.raises(grpc.RpcError) as caught:
        stub.Tokenize(tokenize_pb2.TokenizeRequest(model=RERANK_MODEL, inputs=["Beijing."]))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
