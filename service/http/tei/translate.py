"""Text Embeddings Inference's JSON <-> core translation, and nothing else (no decisions, no I/O).

TEI names no model: its calls leave the choice to the application (`unnamed="primary"`).
Options a TEI client may set that embedroute cannot honour (left truncation, an unknown
prompt name) are refused, not ignored.
"""

from __future__ import annotations

from typing import Any

from service.core.encoding import raw_score
from service.core.errors import InvalidArgumentError
from service.core.requests import DecodeCall, EmbedCall, RerankCall, TokenizeCall
from service.core.results import RerankResult, ServerInfo, SparseEmbedResult, TokenEmbedResult, TokenizeResult
from service.core.values import EmbedOptions, Embedding, InputType
from service.http.body import JsonObject, boolean, chunking, hybrid_weights, integer, is_ids, string, texts, wrong
from service.http.fields import JsonParams

EMBED: JsonParams = {}
EMBED_ONE: JsonParams = {"inputs[0]": "inputs"}
RERANK: JsonParams = {"documents": "texts"}
DECODE: JsonParams = {"inputs": "ids"}

_PROMPT_NAMES: dict[str, InputType] = {"query": "query", "document": "document", "passage": "document"}


def _right_only(body: JsonObject) -> None:
    direction = string(body, "truncation_direction", "Right")
    if direction.lower() != "right":
        raise InvalidArgumentError.for_field("truncation_direction", "only Right truncation is supported")


def _input_type(body: JsonObject) -> InputType:
    prompt_name = string(body, "prompt_name", "document")
    if prompt_name not in _PROMPT_NAMES:
        raise InvalidArgumentError.for_field("prompt_name", f"unknown prompt_name {prompt_name!r}; use query or document")
    return _PROMPT_NAMES[prompt_name]


def embed_call(body: JsonObject) -> tuple[EmbedCall, bool]:
    inputs, single = texts(body, "inputs")
    _right_only(body)
    options = EmbedOptions(
        input_type=_input_type(body),
        dimensions=integer(body, "dimensions"),
        normalize=boolean(body, "normalize", True),
        truncate=boolean(body, "truncate", False),
    )
    chunked = chunking(body)
    if chunked.mode == "chunks":  # TEI's answer is one bare vector per input: nowhere to put the chunks
        raise InvalidArgumentError.for_field(
            "chunking.mode", "TEI's /embed answers one vector per input: use chunking mean here, or chunks on /v1/embeddings"
        )
    return EmbedCall("", inputs, options, chunking=chunked), single


def embed_all_call(body: JsonObject) -> EmbedCall:
    """TEI's `/embed_all`: raw hidden states unless `normalize` (an extension, as `dimensions`)."""
    inputs, _ = texts(body, "inputs")
    _right_only(body)
    options = EmbedOptions(
        input_type=_input_type(body),
        dimensions=integer(body, "dimensions"),
        normalize=boolean(body, "normalize", False),
        truncate=boolean(body, "truncate", False),
    )
    return EmbedCall("", inputs, options)


def embed_sparse_call(body: JsonObject) -> EmbedCall:
    """TEI's `/embed_sparse`: inputs, truncation and the prompt; weights are never cut or normalised."""
    inputs, _ = texts(body, "inputs")
    _right_only(body)
    options = EmbedOptions(input_type=_input_type(body), truncate=boolean(body, "truncate", False))
    return EmbedCall("", inputs, options)


def sparse_values(result: SparseEmbedResult) -> list[list[dict[str, Any]]]:
    """One list per input (a single input too) of `{index, value}`: a vocabulary id and its weight."""
    return [
        [{"index": i, "value": v} for i, v in zip(w.token_ids, w.weights.tolist(), strict=True)] for w in result.inputs
    ]


def token_vectors(result: TokenEmbedResult) -> list[list[list[float]]]:
    """One list per input (a single input too), of one vector per token."""
    return [t.vectors.tolist() for t in result.inputs]


def vectors(embeddings: list[Embedding]) -> list[list[float]]:
    return [e.vector.tolist() for e in embeddings]


def rerank_call(body: JsonObject) -> tuple[RerankCall, bool]:
    """The call, and whether to answer raw scores (logits) instead of probabilities."""
    documents, _ = texts(body, "texts")
    _right_only(body)
    call = RerankCall(
        model="",
        query=string(body, "query"),
        documents=documents,
        return_documents=boolean(body, "return_text", False),
        truncate=boolean(body, "truncate", False),
        best_chunk=boolean(body, "best_chunk", False),
        scoring=string(body, "scoring", ""),
        hybrid_weights=hybrid_weights(body),
    )
    return call, boolean(body, "raw_scores", False)


def ranks(result: RerankResult, raw: bool) -> list[dict[str, Any]]:
    out = []
    for r in result.results:
        entry: dict[str, Any] = {"index": r.index, "score": raw_score(r.score, result.scoring) if raw else r.score}
        if r.document is not None:
            entry["text"] = r.document
        if r.chunks:
            entry["best_chunk"] = {"chunks": r.chunks, "start": r.best[0], "end": r.best[1]}
        out.append(entry)
    return out


def tokenize_call(body: JsonObject) -> TokenizeCall:
    inputs, _ = texts(body, "inputs")
    return TokenizeCall(model="", inputs=inputs, input_type=_input_type(body), return_tokens=True,
                        with_template=boolean(body, "add_special_tokens", True), unnamed="primary")


def tokens(result: TokenizeResult) -> list[list[dict[str, Any]]]:
    return [
        [{"id": t, "text": piece, "special": special, "start": None, "stop": None}
         for t, piece, special in zip(c.token_ids, c.pieces, c.special)]
        for c in result.results
    ]


def decode_call(body: JsonObject) -> tuple[DecodeCall, bool]:
    """The call, and whether `ids` was one list (answered with one string)."""
    ids = body.get("ids")
    skip = boolean(body, "skip_special_tokens", True)
    if is_ids(ids):
        return DecodeCall("", [list(ids)], unnamed="primary", skip_special=skip), True
    if isinstance(ids, list) and ids and all(is_ids(i) for i in ids):
        return DecodeCall("", [list(i) for i in ids], unnamed="primary", skip_special=skip), False
    raise wrong("ids", "a list of token ids or a list of such lists")


def info(server: ServerInfo) -> dict[str, Any]:
    model_type: dict[str, Any] = (
        {"embedding": {"pooling": server.pooling}}
        if server.kind == "embedding"
        else {"reranker": {"id2label": {"0": "yes"}, "label2id": {"yes": 0}}}
    )
    return {
        "model_id": server.model_id,
        "model_sha": None,
        "model_dtype": server.quant,
        "model_type": model_type,
        "max_concurrent_requests": server.max_concurrent_requests,
        "max_input_length": server.max_input_length,
        "max_batch_tokens": server.max_batch_tokens,
        "max_batch_requests": None,
        "max_client_batch_size": server.max_client_batch_size,
        "auto_truncate": False,
        "tokenization_workers": 1,
        "version": server.version,
        "sha": None,
        "docker_label": None,
    }


__all__ = [
    "DECODE",
    "EMBED",
    "EMBED_ONE",
    "RERANK",
    "decode_call",
    "embed_all_call",
    "embed_call",
    "info",
    "ranks",
    "rerank_call",
    "tokenize_call",
    "token_vectors",
    "embed_sparse_call",
    "sparse_values",
    "tokens",
    "vectors",
]
