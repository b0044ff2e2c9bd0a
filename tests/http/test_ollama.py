"""Ollama's embedding API (/api/embed, /api/embeddings, /api/tags, /api/show, /api/version): Ollama's own
Python client and LangChain's OllamaEmbeddings, unchanged, get the gRPC API's vectors; the gRPC bad-input
table through /api/embed gets Ollama's `{"error"}` bodies naming the JSON parameters."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import numpy as np
import ollama
import pytest
from langchain_ollama import OllamaEmbeddings

from tests.hardening.conftest import MAX_MESSAGE_BYTES
from tests.hardening.test_bad_input import CASES, LONG, Case
from tests.http.conftest import EMBED_MODEL, RERANK_MODEL, grpc_vectors
from tests.rpc.harness import RunningServer

TEXTS = ["Paris is the capital of France.", "Water boils at 100 degrees Celsius.", "Cats sleep a lot."]
HTTP_STATUS = {grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.NOT_FOUND: 404}
PARAMS = {"inputs": "input", "options.dimensions": "dimensions"}


@pytest.fixture(scope="module")
def client(http_served: RunningServer) -> ollama.Client:
    return ollama.Client(host=http_served.http_url)


def test_embed_as_the_grpc_api(client: ollama.Client, http_channel: grpc.Channel) -> None:
    answer = client.embed(model=EMBED_MODEL, input=TEXTS)
    for got, want in zip(answer.embeddings, grpc_vectors(http_channel, TEXTS), strict=True):
        np.testing.assert_array_equal(np.array(got, dtype=np.float32), want)
    assert answer.model == f"{EMBED_MODEL}:latest"
    assert answer.prompt_eval_count and answer.prompt_eval_count > len(TEXTS)
    assert answer.total_duration and answer.total_duration > 0
    assert answer.load_duration == 0


def test_one_input_tag_and_dimensions(client: ollama.Client, http_channel: grpc.Channel) -> None:
    answer = client.embed(model=f"{EMBED_MODEL}:latest", input=TEXTS[0], dimensions=64, keep_alive="5m",
                          options={"num_ctx": 512})
    assert len(answer.embeddings) == 1 and len(answer.embeddings[0]) == 64
    np.testing.assert_array_equal(np.array(answer.embeddings[0], dtype=np.float32),
                                  grpc_vectors(http_channel, TEXTS[:1], dimensions=64)[0])


def test_embed_truncates_by_default_as_ollama(client: ollama.Client, http_channel: grpc.Channel) -> None:
    answer = client.embed(model=EMBED_MODEL, input=[LONG])
    np.testing.assert_array_equal(np.array(answer.embeddings[0], dtype=np.float32),
                                  grpc_vectors(http_channel, [LONG], truncate=True)[0])
    with pytest.raises(ollama.ResponseError) as refused:
        client.embed(model=EMBED_MODEL, input=[LONG], truncate=False)
    assert refused.value.status_code == 400 and "truncate" in refused.value.error


def test_legacy_embeddings_are_not_normalised(client: ollama.Client, http_channel: grpc.Channel) -> None:
    answer = client.embeddings(model=EMBED_MODEL, prompt=TEXTS[1])
    want = grpc_vectors(http_channel, TEXTS[1:2], normalize=False)[0]
    np.testing.assert_array_equal(np.array(answer.embedding, dtype=np.float32), want)
    assert abs(float(np.linalg.norm(want)) - 1.0) > 1e-3


def test_async_client(http_served: RunningServer, http_channel: grpc.Channel) -> None:
    async def embed() -> Any:
        return await ollama.AsyncClient(host=http_served.http_url).embed(model=EMBED_MODEL, input=TEXTS[:2])

    answer = asyncio.run(embed())
    for got, want in zip(answer.embeddings, grpc_vectors(http_channel, TEXTS[:2]), strict=True):
        np.testing.assert_array_equal(np.array(got, dtype=np.float32), want)


def test_tags_show_and_version(client: ollama.Client, http: httpx.Client) -> None:
    listed = {m.model: m for m in client.list().models}
    assert set(listed) == {f"{EMBED_MODEL}:latest", f"{RERANK_MODEL}:latest"}
    embedder = listed[f"{EMBED_MODEL}:latest"]
    assert embedder.details and embedder.details.format == "gguf" and embedder.details.quantization_level == "Q8_0"
    assert embedder.size and embedder.size > 0
    shown = client.show(EMBED_MODEL)
    assert shown.capabilities == ["embedding"]
    assert shown.modelinfo and shown.details and shown.details.family
    family = shown.details.family
    assert shown.modelinfo["general.architecture"] == family
    assert shown.modelinfo[f"{family}.embedding_length"] == 256
    assert client.show(RERANK_MODEL).capabilities == []
    version = http.get("/api/version")
    assert version.status_code == 200 and version.json()["version"]


def test_langchain_ollama_embeddings(http_served: RunningServer, http_channel: grpc.Channel) -> None:
    embeddings = OllamaEmbeddings(model=EMBED_MODEL, base_url=http_served.http_url, validate_model_on_init=True)
    for got, want in zip(embeddings.embed_documents(TEXTS), grpc_vectors(http_channel, TEXTS), strict=True):
        np.testing.assert_array_equal(np.array(got, dtype=np.float32), want)
    query = embeddings.embed_query("What is the capital of France?")
    np.testing.assert_array_equal(np.array(query, dtype=np.float32),
                                  grpc_vectors(http_channel, ["What is the capital of France?"])[0])
    cut = OllamaEmbeddings(model=f"{EMBED_MODEL}:latest", base_url=http_served.http_url, dimensions=128)
    assert len(cut.embed_query("x")) == 128


def test_unknown_model_is_404(client: ollama.Client) -> None:
    for call in (lambda: client.embed(model="nope", input="x"), lambda: client.show("nope")):
        with pytest.raises(ollama.ResponseError) as refused:
            call()
        assert refused.value.status_code == 404 and "nope" in refused.value.error


@dataclass(frozen=True)
class Sent:
    body: dict[str, Any]
    params: list[str]
    status: int


def sent(case: Case) -> Sent | None:
    """An Embed case as /api/embed takes it; Ollama has no encodings, instructions or input types."""
    request = case.request
    if case.rpc != "Embed" or request.options.encoding or request.options.instruction or request.options.input_type:
        return None
    body: dict[str, Any] = {"input": list(request.inputs), "truncate": request.options.truncate}
    if request.model:
        body["model"] = request.model
    if request.options.dimensions:
        body["dimensions"] = request.options.dimensions
    params = [PARAMS.get(f.partition("[")[0], f.partition("[")[0]) + "".join(f.partition("[")[1:]) for f in case.fields]
    return Sent(body, params, HTTP_STATUS[case.code])


SENT = {name: s for name, case in CASES.items() if (s := sent(case)) is not None}


@pytest.mark.parametrize("case", list(SENT.values()), ids=list(SENT))
def test_bad_input_over_ollama(http: httpx.Client, case: Sent) -> None:
    answer = http.post("/api/embed", json=case.body)
    assert answer.status_code == case.status, answer.text
    body = answer.json()
    assert set(body) == {"error", "violations"} and body["error"]
    assert [v["param"] for v in body["violations"]] == case.params
    assert answer.headers["x-request-id"]
    assert http.post("/api/embed", json={"model": EMBED_MODEL, "input": "still here"}).status_code == 200


def test_every_embed_case_of_the_grpc_table_is_sent() -> None:
    left_out = {n for n, c in CASES.items() if c.rpc == "Embed"} - set(SENT)
    assert left_out == {n for n, c in CASES.items()
                        if c.rpc == "Embed" and (c.request.options.encoding or c.request.options.instruction)}


def test_ollama_parameters_and_limits(http: httpx.Client) -> None:
    legacy = http.post("/api/embeddings", json={"model": EMBED_MODEL, "prompt": " "})
    assert legacy.status_code == 400 and [v["param"] for v in legacy.json()["violations"]] == ["prompt"]
    one = http.post("/api/embed", json={"model": EMBED_MODEL, "input": ""})
    assert one.status_code == 400 and [v["param"] for v in one.json()["violations"]] == ["input"]
    wrong = http.post("/api/embed", json={"model": EMBED_MODEL, "input": "x", "options": [1]})
    assert wrong.status_code == 400 and wrong.json()["error"] == "options must be an object"
    big = http.post("/api/embed", json={"model": EMBED_MODEL, "input": "z" * MAX_MESSAGE_BYTES})
    assert big.status_code == 413 and set(big.json()) == {"error", "violations"}
    missing = http.post("/api/show", json={})
    assert missing.status_code == 400 and missing.json()["error"]
