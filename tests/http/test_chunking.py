"""Chunking over HTTP (issue #31): our `chunking` extension field on OpenAI's /v1/embeddings (through
the real `openai` SDK's `extra_body`) and TEI's /embed answers what gRPC answers, bit for bit."""

from __future__ import annotations

import base64

import grpc
import httpx
import numpy as np
import openai
import pytest

from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc
from tests.http.conftest import EMBED_MODEL
from tests.rpc.harness import RunningServer

LONG = " ".join(f"Sentence {i}: the river bends past the mill, under the bridge, out to sea." for i in range(48))


@pytest.fixture(scope="module")
def client(http_served: RunningServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{http_served.http_url}/v1", api_key="unused", max_retries=0)


def grpc_embedding(channel: grpc.Channel, mode: int, size: int = 0, overlap: int = 0) -> embed_pb2.Embedding:
    options = embed_pb2.EmbedOptions(chunking=embed_pb2.Chunking(mode=mode, size=size, overlap=overlap))
    request = embed_pb2.EmbedRequest(model=EMBED_MODEL, inputs=[LONG], options=options)
    return embed_pb2_grpc.EmbedServiceStub(channel).Embed(request, timeout=120).embeddings[0]


def test_the_long_text_needs_chunking(http: httpx.Client) -> None:
    assert len(LONG) < 4000  # within the test server's per-input limit, beyond its 512-token context
    answer = http.post("/v1/embeddings", json={"model": EMBED_MODEL, "input": LONG})
    assert answer.status_code == 400
    assert "the model accepts at most 512" in answer.json()["error"]["message"]


def test_openai_sdk_chunks_equal_grpc(client: openai.OpenAI, http_channel: grpc.Channel) -> None:
    response = client.embeddings.create(
        model=EMBED_MODEL, input=[LONG], encoding_format="float",
        extra_body={"chunking": {"mode": "chunks", "size": 128, "overlap": 16}},
    )
    item = response.data[0]
    want = grpc_embedding(http_channel, embed_pb2.CHUNKING_MODE_CHUNKS, 128, 16)
    np.testing.assert_array_equal(np.array(item.embedding, dtype=np.float32), np.array(want.float_values, dtype=np.float32))
    chunks = (item.model_extra or {})["chunks"]
    assert [(c["index"], c["start"], c["end"], c["tokens"]) for c in chunks] == [
        (c.embedding.index, c.start, c.end, c.embedding.prompt_tokens) for c in want.chunks
    ]
    for got, chunk in zip(chunks, want.chunks, strict=True):
        np.testing.assert_array_equal(np.array(got["embedding"], dtype=np.float32), np.array(chunk.embedding.float_values, dtype=np.float32))
    assert response.usage.prompt_tokens == sum(c["tokens"] for c in chunks)


def test_base64_chunks_are_little_endian_floats(http: httpx.Client, http_channel: grpc.Channel) -> None:
    body = {"model": EMBED_MODEL, "input": LONG, "encoding_format": "base64", "chunking": {"mode": "chunks", "size": 200}}
    chunks = http.post("/v1/embeddings", json=body).json()["data"][0]["chunks"]
    want = grpc_embedding(http_channel, embed_pb2.CHUNKING_MODE_CHUNKS, 200).chunks
    for got, chunk in zip(chunks, want, strict=True):
        np.testing.assert_array_equal(
            np.frombuffer(base64.b64decode(got["embedding"]), dtype="<f4"), np.array(chunk.embedding.float_values, dtype=np.float32)
        )


def test_mean_as_a_word_and_over_tei(http: httpx.Client, http_channel: grpc.Channel) -> None:
    want = np.array(grpc_embedding(http_channel, embed_pb2.CHUNKING_MODE_MEAN).float_values, dtype=np.float32)
    openai_answer = http.post("/v1/embeddings", json={"model": EMBED_MODEL, "input": LONG, "chunking": "mean", "encoding_format": "float"})
    item = openai_answer.json()["data"][0]
    assert "chunks" not in item
    np.testing.assert_array_equal(np.array(item["embedding"], dtype=np.float32), want)
    tei = http.post("/embed", json={"inputs": LONG, "chunking": "mean"})
    assert tei.status_code == 200
    np.testing.assert_array_equal(np.array(tei.json()[0], dtype=np.float32), want)


@pytest.mark.parametrize(
    ("route", "chunking", "status", "field", "message"),
    [
        ("/embed", "chunks", 422, None, "TEI's /embed answers one vector per input"),
        ("/v1/embeddings", "halves", 400, "chunking.mode", "unknown chunking mode 'halves'"),
        ("/v1/embeddings", {"mode": "mean", "size": -4}, 400, "chunking.size", "chunking.size must be an integer of at least 0"),
        ("/v1/embeddings", {"mode": "mean", "overlap": "big"}, 400, "chunking.overlap", "chunking.overlap must be an integer"),
        ("/v1/embeddings", {"mode": "mean", "width": 3}, 400, "chunking", "chunking must be a mode"),
        ("/v1/embeddings", {"mode": "mean", "size": 4000}, 400, "chunking.size", "4000 tokens is more than a chunk"),
        ("/v1/embeddings", {"mode": "chunks", "size": 64, "overlap": 64}, 400, "chunking.overlap", "it must be less than the chunk size, 64"),
    ],
)
def test_bad_chunking_is_a_client_error(
    http: httpx.Client, route: str, chunking: object, status: int, field: str | None, message: str
) -> None:
    body = {"input" if route == "/v1/embeddings" else "inputs": LONG, "chunking": chunking}
    answer = http.post(route, json=body)
    assert answer.status_code == status, answer.text
    assert message in answer.text
    if field is not None:
        assert field in answer.text
