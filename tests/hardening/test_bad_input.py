"""Every kind of bad input gets its exact code, reason and field violations, and the server keeps serving."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest

from service.rpc.generated.embedroute.v1 import (
    embed_pb2,
    embed_pb2_grpc,
    rerank_pb2,
    rerank_pb2_grpc,
    tokenize_pb2,
    tokenize_pb2_grpc,
)
from tests.hardening.conftest import MAX_CHARS, MAX_INPUTS, MAX_MESSAGE_BYTES, MAX_REQUEST_CHARS
from tests.rpc.conftest import EMBED_MODEL, RERANK_MODEL
from tests.rpc.harness import RunningServer, details_of, rich_status

INVALID = grpc.StatusCode.INVALID_ARGUMENT
Opts = embed_pb2.EmbedOptions


@dataclass(frozen=True)
class Case:
    rpc: str
    request: Any
    """One message, or a list of messages for a stream."""
    fields: list[str]
    code: grpc.StatusCode = INVALID
    reason: str = "INVALID_ARGUMENT"
    metadata: dict[str, str] = field(default_factory=dict)


def embed(*inputs: str, **options: Any) -> embed_pb2.EmbedRequest:
    return embed_pb2.EmbedRequest(inputs=list(inputs), options=Opts(**options))


def rerank(query: str, *documents: str, **kw: Any) -> rerank_pb2.RerankRequest:
    return rerank_pb2.RerankRequest(query=query, documents=list(documents), **kw)


LONG = "hello " * 600  # about 600 tokens: over the 512-token context the test server loads with
CASES = {
    "empty input list": Case("Embed", embed(), ["inputs"]),
    "empty string": Case("Embed", embed("fine", ""), ["inputs[1]"]),
    "blank string": Case("Embed", embed(" \n\t"), ["inputs[0]"]),
    "too many inputs": Case("Embed", embed(*["x"] * (MAX_INPUTS + 1)), ["inputs"]),
    "too many characters": Case("Embed", embed("ok", "y" * (MAX_CHARS + 1)), ["inputs[1]"]),
    "over-length without truncate": Case(
        "Embed", embed("short", LONG), ["inputs[1]"], reason="INPUT_TOO_LONG", metadata={"limit": "512"}
    ),
    "dimensions above the model's": Case("Embed", embed("x", dimensions=257), ["options.dimensions"]),
    "dimensions below 32": Case("Embed", embed("x", dimensions=31), ["options.dimensions"]),
    "dimensions -1 as a client's uint32 sends it": Case("Embed", embed("x", dimensions=2**32 - 1), ["options.dimensions"]),
    "several violations at once": Case("Embed", embed("", "ok", "", dimensions=8), ["inputs[0]", "inputs[2]", "options.dimensions"]),
    "unknown encoding": Case("Embed", embed("x", encoding=7), ["options.encoding"]),
    "unknown model": Case(
        "Embed", embed_pb2.EmbedRequest(model="nope", inputs=["x"]), [], grpc.StatusCode.NOT_FOUND, "MODEL_NOT_FOUND"
    ),
    "model named by a file path": Case(
        "Embed",
        embed_pb2.EmbedRequest(model="../models/Qwen3-Embedding-Tiny-Q8_0.gguf", inputs=["x"]),
        [],
        grpc.StatusCode.NOT_FOUND,
        "MODEL_NOT_FOUND",
    ),
    "embedding with a reranker": Case(
        "Embed", embed_pb2.EmbedRequest(model=RERANK_MODEL, inputs=["x"]), ["model"], reason="WRONG_MODEL_KIND"
    ),
    "stream message with an empty input": Case(
        "EmbedStream", [embed_pb2.EmbedStreamRequest(id="0", input="ok"), embed_pb2.EmbedStreamRequest(id="1")], ["input"]
    ),
    "top_n larger than the documents": Case("Rerank", rerank("q", "a", "b", top_n=3), ["top_n"]),
    "empty query": Case("Rerank", rerank(" ", "a"), ["query"]),
    "no documents": Case("Rerank", rerank("q"), ["documents"]),
    "too long a query": Case("Rerank", rerank("q" * (MAX_CHARS + 1), "a"), ["query"]),
    "over-length pair without truncate": Case(
        "Rerank", rerank("q", "fine", LONG), ["documents[1]"], reason="INPUT_TOO_LONG", metadata={"limit": "512"}
    ),
    "a query that leaves no room for documents, truncate on": Case(
        "Rerank", rerank(LONG, "a", "b", truncate=True), ["query"], reason="INPUT_TOO_LONG", metadata={"limit": "512"}
    ),
    "a query that leaves no room for documents, truncate off": Case(
        "Rerank", rerank(LONG, "a"), ["query"], reason="INPUT_TOO_LONG", metadata={"limit": "512"}
    ),
    "stream whose later message contradicts the first": Case(
        "RerankStream",
        [
            rerank_pb2.RerankStreamRequest(query="q", documents=["a"]),
            rerank_pb2.RerankStreamRequest(query="another query", top_n=2, documents=["b"]),
        ],
        ["query", "top_n"],
    ),
    "stream chunk with an empty document": Case(
        "RerankStream",
        [rerank_pb2.RerankStreamRequest(query="q", documents=["a"]), rerank_pb2.RerankStreamRequest(documents=["b", ""])],
        ["documents[2]"],
    ),
    "tokenize nothing": Case("Tokenize", tokenize_pb2.TokenizeRequest(model=EMBED_MODEL), ["inputs"]),
    "too long an instruction": Case("Embed", embed("x", instruction="i" * (MAX_CHARS + 1)), ["options.instruction"]),
    "too long a rerank instruction": Case("Rerank", rerank("q", "a", instruction="i" * (MAX_CHARS + 1)), ["instruction"]),
    "too long a tokenize instruction": Case(
        "Tokenize", tokenize_pb2.TokenizeRequest(model=EMBED_MODEL, inputs=["x"], instruction="i" * (MAX_CHARS + 1)), ["instruction"]
    ),
    "too many characters in one message": Case(
        "Embed", embed(*["c" * MAX_CHARS] * (MAX_REQUEST_CHARS // MAX_CHARS + 1)), ["inputs"]
    ),
    "too many characters in one stream chunk": Case(
        "RerankStream",
        [
            rerank_pb2.RerankStreamRequest(query="q", documents=["a"]),
            rerank_pb2.RerankStreamRequest(documents=["d" * MAX_CHARS] * (MAX_REQUEST_CHARS // MAX_CHARS + 1)),
        ],
        ["documents"],
    ),
}


def invoke(channel: grpc.Channel, rpc: str, request: Any) -> Any:
    if rpc == "Embed":
        return embed_pb2_grpc.EmbedServiceStub(channel).Embed(request, timeout=60)
    if rpc == "EmbedStream":
        return list(embed_pb2_grpc.EmbedServiceStub(channel).EmbedStream(iter(request), timeout=60))
    if rpc == "Rerank":
        return rerank_pb2_grpc.RerankServiceStub(channel).Rerank(request, timeout=60)
    if rpc == "RerankStream":
        return list(rerank_pb2_grpc.RerankServiceStub(channel).RerankStream(iter(request), timeout=60))
    return tokenize_pb2_grpc.TokenizeServiceStub(channel).Tokenize(request, timeout=60)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input(hardened_channel: grpc.Channel, case: Case) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        invoke(hardened_channel, case.rpc, case.request)
    code, status = rich_status(caught.value)
    details = details_of(status)
    assert code == case.code, status.message
    assert details["ErrorInfo"].reason == case.reason
    assert details["ErrorInfo"].domain == "embedroute.dev"
    for key, value in case.metadata.items():
        assert details["ErrorInfo"].metadata[key] == value
    if case.fields:
        assert [v.field for v in details["BadRequest"].field_violations] == case.fields
        assert all(v.description for v in details["BadRequest"].field_violations)
    else:
        assert "BadRequest" not in details
    # the server keeps serving after every rejection
    assert len(embed_pb2_grpc.EmbedServiceStub(hardened_channel).Embed(embed("still here")).embeddings) == 1


def test_too_long_says_tokens_and_limit(hardened_channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        invoke(hardened_channel, "Embed", embed(LONG))
    _, status = rich_status(caught.value)
    info = details_of(status)["ErrorInfo"]
    n_tokens = int(info.metadata["n_tokens"])
    assert n_tokens > 512
    assert status.message == (
        f"input is {n_tokens} tokens, the model accepts at most 512; shorten it or set truncate=true"
    )
    truncated = invoke(hardened_channel, "Embed", embed(LONG, truncate=True)).embeddings[0]
    assert truncated.truncated and truncated.prompt_tokens == 512


def test_dimensions_zero_means_all(hardened_channel: grpc.Channel) -> None:
    assert invoke(hardened_channel, "Embed", embed("x", dimensions=0)).embeddings[0].dimensions == 256
    assert invoke(hardened_channel, "Embed", embed("x", dimensions=32)).embeddings[0].dimensions == 32


def test_unknown_model_message_lists_ids_not_paths(hardened_channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        invoke(hardened_channel, "Embed", embed_pb2.EmbedRequest(model="/etc/passwd", inputs=["x"]))
    assert caught.value.details() == (
        f"model '/etc/passwd' is not served here; served: {EMBED_MODEL}, {RERANK_MODEL}"
    )


def test_oversized_message(hardened: RunningServer, hardened_channel: grpc.Channel) -> None:
    """Messages over max_message_bytes are refused by gRPC itself, before parsing: RESOURCE_EXHAUSTED."""
    request = embed_pb2.EmbedRequest(inputs=["z" * (MAX_MESSAGE_BYTES // 4)] * 5)
    assert request.ByteSize() > MAX_MESSAGE_BYTES
    with pytest.raises(grpc.RpcError) as caught:
        invoke(hardened_channel, "Embed", request)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in (caught.value.details() or "")
    assert len(invoke(hardened_channel, "Embed", embed("after")).embeddings) == 1
