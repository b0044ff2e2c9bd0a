"""The `openai` SDK, unchanged, embeds through /v1/embeddings: the vectors are the gRPC API's, bit for bit."""

from __future__ import annotations

import base64

import grpc
import httpx
import numpy as np
import openai
import pytest

from service.rpc.generated.embedroute.v1 import common_pb2, tokenize_pb2, tokenize_pb2_grpc
from tests.http.conftest import EMBED_MODEL, RERANK_MODEL, grpc_vectors
from tests.rpc.harness import RunningServer

TEXTS = ["What is the capital of China?", "Gravity is a force that attracts two bodies.", "hello"]


@pytest.fixture(scope="module")
def client(http_served: RunningServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{http_served.http_url}/v1", api_key="unused", max_retries=0)


def vectors(response: openai.types.CreateEmbeddingResponse) -> list[np.ndarray]:
    """Floats as sent; base64 asked for explicitly is handed over undecoded by the SDK: little-endian float32."""
    assert [d.index for d in response.data] == list(range(len(response.data)))
    return [
        np.frombuffer(base64.b64decode(d.embedding), dtype="<f4") if isinstance(d.embedding, str)
        else np.array(d.embedding, dtype=np.float32)
        for d in response.data
    ]


def test_base64_default_equals_grpc(client: openai.OpenAI, http_channel: grpc.Channel) -> None:
    """The SDK asks for base64 unless told otherwise, and decodes it itself."""
    response = client.embeddings.create(model=EMBED_MODEL, input=TEXTS)
    assert response.model == EMBED_MODEL
    for got, want in zip(vectors(response), grpc_vectors(http_channel, TEXTS), strict=True):
        np.testing.assert_array_equal(got, want)


def test_float_equals_grpc(client: openai.OpenAI, http_channel: grpc.Channel) -> None:
    response = client.embeddings.create(model=EMBED_MODEL, input=TEXTS, encoding_format="float")
    for got, want in zip(vectors(response), grpc_vectors(http_channel, TEXTS), strict=True):
        assert got.shape == (256,)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("encoding_format", ["float", "base64"])
def test_dimensions(client: openai.OpenAI, http_channel: grpc.Channel, encoding_format: str) -> None:
    response = client.embeddings.create(
        model=EMBED_MODEL, input=TEXTS[:2], dimensions=64, encoding_format=encoding_format  # type: ignore[arg-type]
    )
    for got, want in zip(vectors(response), grpc_vectors(http_channel, TEXTS[:2], dimensions=64), strict=True):
        assert got.shape == (64,)
        np.testing.assert_array_equal(got, want)
        assert abs(float(np.linalg.norm(got)) - 1.0) < 1e-5


def test_usage_counts_prompt_tokens(client: openai.OpenAI, http_channel: grpc.Channel) -> None:
    response = client.embeddings.create(model=EMBED_MODEL, input=TEXTS)
    counted = tokenize_pb2_grpc.TokenizeServiceStub(http_channel).Tokenize(
        tokenize_pb2.TokenizeRequest(model=EMBED_MODEL, inputs=TEXTS)
    )
    assert response.usage.prompt_tokens == counted.usage.prompt_tokens == sum(r.prompt_tokens for r in counted.results)
    assert response.usage.total_tokens == response.usage.prompt_tokens


def test_one_string_and_model_left_out(client: openai.OpenAI, http_channel: grpc.Channel) -> None:
    """One embedding model is served (the other is a reranker), so `model` may be empty."""
    response = client.embeddings.create(model="", input="hello", encoding_format="float")
    assert response.model == EMBED_MODEL and len(response.data) == 1
    np.testing.assert_array_equal(vectors(response)[0], grpc_vectors(http_channel, ["hello"])[0])


def test_token_ids_embed_as_their_text(client: openai.OpenAI, http_channel: grpc.Channel) -> None:
    """Token ids (one list, or a list of lists) are the model's vocabulary's text, embedded as text."""
    tokenized = tokenize_pb2_grpc.TokenizeServiceStub(http_channel).Tokenize(
        tokenize_pb2.TokenizeRequest(model=EMBED_MODEL, inputs=TEXTS[:2], return_tokens=True)
    )
    ids = [list(r.token_ids) for r in tokenized.results]
    want = grpc_vectors(http_channel, TEXTS[:2])
    both = client.embeddings.create(model=EMBED_MODEL, input=ids, encoding_format="float")
    one = client.embeddings.create(model=EMBED_MODEL, input=ids[0], encoding_format="float")
    for got, expected in zip(vectors(both), want, strict=True):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(vectors(one)[0], want[0])


def test_nim_input_type_instruction_and_truncate(client: openai.OpenAI, http_channel: grpc.Channel) -> None:
    query = client.embeddings.create(
        model=EMBED_MODEL, input=TEXTS[:1], encoding_format="float",
        extra_body={"input_type": "query", "instruction": "Find the answer"},
    )
    want = grpc_vectors(http_channel, TEXTS[:1], input_type=common_pb2.INPUT_TYPE_QUERY, instruction="Find the answer")
    np.testing.assert_array_equal(vectors(query)[0], want[0])
    passage = client.embeddings.create(
        model=EMBED_MODEL, input=TEXTS[:1], encoding_format="float", extra_body={"input_type": "passage"}
    )
    np.testing.assert_array_equal(vectors(passage)[0], grpc_vectors(http_channel, TEXTS[:1])[0])
    long = "hello " * 600
    cut = client.embeddings.create(model=EMBED_MODEL, input=long, encoding_format="float", extra_body={"truncate": "END"})
    np.testing.assert_array_equal(vectors(cut)[0], grpc_vectors(http_channel, [long], truncate=True)[0])
    assert cut.usage.prompt_tokens == 512
    with pytest.raises(openai.BadRequestError) as refused:  # the gRPC API's default: no silent truncation
        client.embeddings.create(model=EMBED_MODEL, input=long)
    assert refused.value.code == "input_too_long" and refused.value.param == "input"


def test_models_list_both_models(client: openai.OpenAI) -> None:
    listed = {m.id: m for m in client.models.list()}
    assert set(listed) == {EMBED_MODEL, RERANK_MODEL}
    assert listed[EMBED_MODEL].owned_by == "embedroute"
    assert listed[EMBED_MODEL].model_extra == {
        "kind": "embedding", "state": "ready", "dimensions": 256, "context_length": 512, "quant": "Q8_0",
        "serves_rerank_by_cosine": False,
    }
    assert client.models.retrieve(RERANK_MODEL).id == RERANK_MODEL
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nope")


def test_unknown_model_is_404_in_openai_shape(http: httpx.Client) -> None:
    answer = http.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": "x"})
    assert answer.status_code == 404
    assert answer.json() == {
        "error": {
            "message": f"model 'text-embedding-3-small' is not served here; served: {EMBED_MODEL}, {RERANK_MODEL}",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
            "violations": [],
        }
    }
