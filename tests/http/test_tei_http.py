"""TEI's HTTP routes (/embed, /rerank with `texts`, /tokenize, /decode, /info) answer in TEI's shapes
with the gRPC API's values."""

from __future__ import annotations

import math

import grpc
import httpx
import numpy as np

from service.rpc.generated.embedroute.v1 import common_pb2, tokenize_pb2, tokenize_pb2_grpc
from tests.http.conftest import EMBED_MODEL, grpc_scores, grpc_vectors

TEXTS = ["What is the capital of China?", "Beijing is the capital of China."]
ENDOFTEXT = 151643
"""Qwen3's `<|endoftext|>`, which the embedding template appends to every input."""


def test_embed_normalises_by_default(http: httpx.Client, http_channel: grpc.Channel) -> None:
    answer = http.post("/embed", json={"inputs": TEXTS})
    assert answer.status_code == 200
    for got, want in zip(answer.json(), grpc_vectors(http_channel, TEXTS), strict=True):
        np.testing.assert_array_equal(np.array(got, dtype=np.float32), want)
    one = http.post("/embed", json={"inputs": TEXTS[0], "normalize": False, "prompt_name": "query", "dimensions": 64})
    want = grpc_vectors(http_channel, TEXTS[:1], normalize=False, input_type=common_pb2.INPUT_TYPE_QUERY, dimensions=64)
    np.testing.assert_array_equal(np.array(one.json()[0], dtype=np.float32), want[0])


def test_rerank_in_tei_shape(http: httpx.Client, http_channel: grpc.Channel) -> None:
    want = grpc_scores(http_channel, TEXTS[0], TEXTS)
    order = sorted(want, key=lambda i: (-want[i], i))
    answer = http.post("/rerank", json={"query": TEXTS[0], "texts": TEXTS, "return_text": True})
    assert answer.status_code == 200
    assert [r["index"] for r in answer.json()] == order
    assert [np.float32(r["score"]) for r in answer.json()] == [np.float32(want[i]) for i in order]
    assert [r["text"] for r in answer.json()] == [TEXTS[i] for i in order]
    raw = http.post("/rerank", json={"query": TEXTS[0], "texts": TEXTS, "raw_scores": True}).json()
    for r in raw:  # the yes-minus-no logit whose two-way softmax is the score
        p = 1 / (1 + math.exp(-r["score"]))
        assert abs(p - want[r["index"]]) < 1e-6 and "text" not in r


def test_tokenize_and_decode_round_trip(http: httpx.Client, http_channel: grpc.Channel) -> None:
    counted = tokenize_pb2_grpc.TokenizeServiceStub(http_channel).Tokenize(
        tokenize_pb2.TokenizeRequest(model=EMBED_MODEL, inputs=TEXTS, return_tokens=True)
    )
    answer = http.post("/tokenize", json={"inputs": TEXTS, "add_special_tokens": False})
    assert answer.status_code == 200
    for tokens, want in zip(answer.json(), counted.results, strict=True):
        assert [t["id"] for t in tokens] == list(want.token_ids)
        assert [t["text"] for t in tokens] == list(want.pieces)
        assert not any(t["special"] for t in tokens)
    ids = [t["id"] for t in answer.json()[0]]
    with_template = http.post("/tokenize", json={"inputs": TEXTS}).json()  # TEI's default: as the model sees it
    for tokens, want in zip(with_template, counted.results, strict=True):
        assert [t["id"] for t in tokens] == [*want.token_ids, ENDOFTEXT]
        assert [t["text"] for t in tokens] == [*want.pieces, "<|endoftext|>"]
        assert [t["special"] for t in tokens] == [False] * len(want.token_ids) + [True]
    assert http.post("/decode", json={"ids": ids}).json() == TEXTS[0]
    assert http.post("/decode", json={"ids": [ids, ids]}).json() == [TEXTS[0], TEXTS[0]]


def test_decode_skips_special_tokens_unless_told(http: httpx.Client) -> None:
    ids = [t["id"] for t in http.post("/tokenize", json={"inputs": TEXTS[0]}).json()[0]]
    assert ids[-1] == ENDOFTEXT
    assert http.post("/decode", json={"ids": ids}).json() == TEXTS[0]  # TEI's default: skip_special_tokens true
    assert http.post("/decode", json={"ids": ids, "skip_special_tokens": True}).json() == TEXTS[0]
    assert http.post("/decode", json={"ids": ids, "skip_special_tokens": False}).json() == TEXTS[0] + "<|endoftext|>"
    for wrong in ("false", 0, 1, [True]):
        answer = http.post("/decode", json={"ids": ids, "skip_special_tokens": wrong})
        assert answer.status_code == 422 and "skip_special_tokens" in answer.json()["error"], wrong


def test_tokenize_a_query_shows_its_instruction(http: httpx.Client, http_channel: grpc.Channel) -> None:
    counted = tokenize_pb2_grpc.TokenizeServiceStub(http_channel).Tokenize(
        tokenize_pb2.TokenizeRequest(model=EMBED_MODEL, inputs=TEXTS[:1], input_type=common_pb2.INPUT_TYPE_QUERY)
    )
    tokens = http.post("/tokenize", json={"inputs": TEXTS[0], "prompt_name": "query"}).json()[0]
    assert len(tokens) == counted.results[0].prompt_tokens
    assert "".join(t["text"] for t in tokens) == (
        "Instruct: Given a web search query, retrieve relevant passages that answer the query\n"
        f"Query:{TEXTS[0]}<|endoftext|>"
    )
    assert [t["special"] for t in tokens].count(True) == 1 and tokens[-1]["special"]


def test_info(http: httpx.Client) -> None:
    info = http.get("/info").json()
    assert info["model_id"] == EMBED_MODEL
    assert info["model_dtype"] == "Q8_0"
    assert info["model_type"] == {"embedding": {"pooling": "last"}}
    assert info["max_input_length"] == 512
    assert info["max_client_batch_size"] == 8
    assert info["max_batch_tokens"] == 128  # the CPU layout's step, not the setting's 0 (= by placement)
