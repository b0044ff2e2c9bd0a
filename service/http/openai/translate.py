"""OpenAI's embeddings JSON <-> core translation, and nothing else (no decisions, no I/O).

`input` as a string, strings, token ids or lists of them (ids travel in the call, for the
application to decode); NIM's `input_type` and `truncate` and our `instruction` and `chunking` as
extra fields; vectors as floats or base64, each chunk's (chunking `chunks`) beside its input's.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Literal

from service.core.errors import InvalidArgumentError
from service.core.requests import EmbedCall
from service.core.results import EmbedResult
from service.core.values import EmbedOptions, Embedding, InputType, Vector
from service.http.body import JsonObject, chunking, end_truncation, integer, is_ids, opt_string, string, texts
from service.http.fields import JsonParams

if TYPE_CHECKING:
    from service.app import ServedModel

EncodingFormat = Literal["float", "base64"]

EMBED: JsonParams = {"inputs": "input", "encoding": "encoding_format"}
EMBED_ONE: JsonParams = {**EMBED, "inputs[0]": "input"}
"""`input` sent as one string (or one token list): its only entry is `input` itself."""

_NIM_INPUT_TYPES: dict[str, InputType] = {"query": "query", "passage": "document", "document": "document"}


def embed_call(body: JsonObject) -> tuple[EmbedCall, EncodingFormat, bool]:
    """The call, the encoding to answer in, and whether `input` was one string or one token list."""
    value = body.get("input")
    token_ids: list[list[int]] | None = None
    inputs: list[str] = []
    if is_ids(value):
        token_ids, single = [list(value)], True
    elif isinstance(value, list) and value and all(is_ids(v) for v in value):
        token_ids, single = [list(v) for v in value], False
    else:
        inputs, single = texts(body, "input")
    encoding_format = string(body, "encoding_format", "float")
    if encoding_format not in ("float", "base64"):
        raise InvalidArgumentError.for_field("encoding_format", f"unknown encoding_format {encoding_format!r}; use float or base64")
    call = EmbedCall(string(body, "model"), inputs, _options(body), token_ids=token_ids, chunking=chunking(body))
    return call, "base64" if encoding_format == "base64" else "float", single


def _options(body: JsonObject) -> EmbedOptions:
    """OpenAI's `dimensions`, and NIM's `input_type` and `truncate` plus our `instruction` as extra fields."""
    input_type = string(body, "input_type", "document")
    if input_type not in _NIM_INPUT_TYPES:
        raise InvalidArgumentError.for_field("input_type", f"unknown input_type {input_type!r}; use query, passage or document")
    return EmbedOptions(
        input_type=_NIM_INPUT_TYPES[input_type],
        instruction=opt_string(body, "instruction"),
        dimensions=integer(body, "dimensions"),
        truncate=end_truncation(body),
    )


def embeddings(result: EmbedResult, encoding: EncodingFormat) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [_item(i, e, encoding) for i, e in enumerate(result.embeddings)],
        "model": result.model_id,
        "usage": {
            "prompt_tokens": result.usage.prompt_tokens,
            "total_tokens": result.usage.prompt_tokens,
            "prompt_tokens_details": {"cached_tokens": result.usage.cached_tokens},
        },
    }


def _item(index: int, e: Embedding, encoding: EncodingFormat) -> dict[str, Any]:
    item: dict[str, Any] = {"object": "embedding", "index": index, "embedding": _vector(e.vector, encoding)}
    if e.chunks:
        item["chunks"] = [
            {"index": i, "start": c.start, "end": c.end, "tokens": c.n_tokens, "embedding": _vector(c.vector, encoding)}
            for i, c in enumerate(e.chunks)
        ]
    return item


def _vector(vector: Vector, encoding: EncodingFormat) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    values: list[float] = vector.tolist()
    return values


def model(served: ServedModel, reranks_by_cosine: bool) -> dict[str, Any]:
    """OpenAI's model object, plus what our ModelService says about it."""
    return {
        "id": served.model_id,
        "object": "model",
        "created": 0,
        "owned_by": "embedroute",
        "kind": served.kind,
        "state": served.state,
        "dimensions": served.description.hidden_size,
        "context_length": served.context_length,
        "quant": served.description.quant,
        "serves_rerank_by_cosine": reranks_by_cosine,
    }


__all__ = ["EMBED", "EMBED_ONE", "EncodingFormat", "embed_call", "embeddings", "model"]
