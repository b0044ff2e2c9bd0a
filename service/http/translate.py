"""JSON <-> core translation for every HTTP API, and nothing else (no decisions, no I/O beyond
reading the body).

Requests become `service.core.requests`; results become each API's JSON. A wrong JSON
type is an InvalidArgumentError naming the JSON parameter; a value of the right type is
the application's to validate (service.app.validation), so the rules and their messages
are the gRPC API's.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeGuard

from starlette.requests import Request

from service.core.encoding import raw_score
from service.core.errors import FieldViolation, InvalidArgumentError
from service.core.requests import DecodeCall, EmbedCall, RerankCall, TokenizeCall
from service.core.results import RankedDocument, RerankResult, TokenizeResult, Usage
from service.core.values import EmbedOptions, Embedding, InputType
from service.http.errors import BodyTooLargeError

if TYPE_CHECKING:
    from service.app import ServedModel
    from service.core.config import Settings

EncodingFormat = Literal["float", "base64"]
JsonObject = dict[str, Any]


async def json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    """The body as a JSON object; read in chunks and refused past `max_bytes`, unparsed."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLargeError(f"the body is {declared} bytes; at most {max_bytes}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise BodyTooLargeError(f"the body is over {max_bytes} bytes")
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError(f"the body is not JSON: {exc}", reason="INVALID_JSON") from None
    if not isinstance(parsed, dict):
        raise InvalidArgumentError("the body must be a JSON object", reason="INVALID_JSON")
    return parsed


def _wrong(param: str, expected: str) -> InvalidArgumentError:
    return InvalidArgumentError.for_field(param, f"{param} must be {expected}")


def _str(body: dict[str, Any], param: str, default: str = "") -> str:
    value = body.get(param)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _wrong(param, "a string")
    return value


def _opt_str(body: dict[str, Any], param: str) -> str | None:
    return _str(body, param) or None


def _bool(body: dict[str, Any], param: str, default: bool) -> bool:
    value = body.get(param)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _wrong(param, "true or false")
    return value


def _int(body: dict[str, Any], param: str) -> int | None:
    value = body.get(param)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong(param, "an integer")
    return value


def _is_ids(value: Any) -> TypeGuard[list[int]]:
    return isinstance(value, list) and bool(value) and all(isinstance(t, int) and not isinstance(t, bool) for t in value)


def texts(body: dict[str, Any], param: str) -> tuple[list[str], bool]:
    """A string or a list of strings; True when it was one string."""
    value = body.get(param)
    if isinstance(value, str):
        return [value], True
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return list(value), False
    raise _wrong(param, "a string or a list of strings")


# --- OpenAI --------------------------------------------------------------------------

_NIM_INPUT_TYPES: dict[str, InputType] = {"query": "query", "passage": "document", "document": "document"}


@dataclass(frozen=True)
class OpenAIEmbed:
    call: EmbedCall
    """Its inputs are empty when the client sent token ids: decode `token_ids` first."""
    token_ids: DecodeCall | None
    encoding_format: EncodingFormat
    single: bool
    """`input` was one string or one token list."""


def openai_embed(body: dict[str, Any]) -> OpenAIEmbed:
    value = body.get("input")
    token_ids: list[list[int]] | None = None
    inputs: list[str] = []
    if _is_ids(value):
        token_ids, inputs, single = [list(value)], [], True
    elif isinstance(value, list) and value and all(_is_ids(v) for v in value):
        token_ids, inputs, single = [list(v) for v in value], [], False
    else:
        inputs, single = texts(body, "input")
    encoding_format = _str(body, "encoding_format", "float")
    if encoding_format not in ("float", "base64"):
        raise InvalidArgumentError.for_field("encoding_format", f"unknown encoding_format {encoding_format!r}; use float or base64")
    model = _str(body, "model")
    call = EmbedCall(model, inputs, _openai_options(body))
    decode = DecodeCall(model, token_ids, kind="embedding") if token_ids is not None else None
    return OpenAIEmbed(call, decode, "base64" if encoding_format == "base64" else "float", single)


def _openai_options(body: dict[str, Any]) -> EmbedOptions:
    """OpenAI's `dimensions`, and NIM's `input_type` and `truncate` plus our `instruction` as extra fields."""
    input_type = _str(body, "input_type", "document")
    if input_type not in _NIM_INPUT_TYPES:
        raise InvalidArgumentError.for_field("input_type", f"unknown input_type {input_type!r}; use query, passage or document")
    return EmbedOptions(
        input_type=_NIM_INPUT_TYPES[input_type],
        instruction=_opt_str(body, "instruction"),
        dimensions=_int(body, "dimensions"),
        truncate=_truncate(body),
    )


def _truncate(body: dict[str, Any]) -> bool:
    """NIM's NONE / END (START is refused: the template comes first, so only the end of the text is cut)."""
    value = body.get("truncate")
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.upper() in ("NONE", "END"):
        return value.upper() == "END"
    raise InvalidArgumentError.for_field("truncate", "truncate must be NONE or END (or true/false); START is not supported")


def with_texts(call: EmbedCall, decoded: list[str]) -> EmbedCall:
    return EmbedCall(call.model, decoded, call.options, call.encoding)


def openai_embeddings(model_id: str, embeddings: list[Embedding], usage: Usage, encoding: EncodingFormat) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": _vector(e, encoding)} for i, e in enumerate(embeddings)],
        "model": model_id,
        "usage": {"prompt_tokens": usage.prompt_tokens, "total_tokens": usage.prompt_tokens},
    }


def _vector(e: Embedding, encoding: EncodingFormat) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(e.vector.astype("<f4").tobytes()).decode("ascii")
    values: list[float] = e.vector.tolist()
    return values


# --- Cohere / Jina rerank ------------------------------------------------------------

def cohere_rerank(body: dict[str, Any]) -> RerankCall:
    documents = body.get("documents")
    if not isinstance(documents, list):
        raise _wrong("documents", "a list of strings or {text} objects")
    texts_: list[str] = []
    violations = []
    for i, document in enumerate(documents):
        text = document.get("text") if isinstance(document, dict) else document
        if isinstance(text, str):
            texts_.append(text)
        else:
            violations.append(FieldViolation(f"documents[{i}]", "a document must be a string or a {text} object"))
            texts_.append("")
    if violations:
        raise InvalidArgumentError(violations[0].description, violations)
    return RerankCall(
        model=_str(body, "model"),
        query=_str(body, "query"),
        documents=texts_,
        top_n=_top_n(body),
        instruction=_opt_str(body, "instruction"),
        return_documents=_bool(body, "return_documents", False),
        truncate=_truncate(body),
    )


def _top_n(body: dict[str, Any]) -> int:
    top_n = _int(body, "top_n")
    if top_n is not None and top_n < 0:
        raise InvalidArgumentError.for_field("top_n", f"top_n is {top_n}; it must be at least 0 (0 returns all)")
    return top_n or 0


def cohere_results(result: RerankResult, request_id: str) -> dict[str, Any]:
    input_tokens = result.usage.prompt_tokens
    meta: dict[str, Any] = {"api_version": {"version": "2"}, "tokens": {"input_tokens": input_tokens}}
    if result.scoring == "cosine":
        meta["warnings"] = [f"no reranker is served: scores are cosine similarities of {result.model_id} embeddings"]
    return {
        "id": request_id,
        "results": [_cohere_result(r) for r in result.results],
        "model": result.model_id,
        "scoring": result.scoring,
        "meta": meta,
        "usage": {"total_tokens": input_tokens, "prompt_tokens": input_tokens},
    }


def _cohere_result(r: RankedDocument) -> dict[str, Any]:
    entry: dict[str, Any] = {"index": r.index, "relevance_score": r.score}
    if r.document is not None:
        entry["document"] = {"text": r.document}
    return entry


# --- TEI -----------------------------------------------------------------------------

_PROMPT_NAMES: dict[str, InputType] = {"query": "query", "document": "document", "passage": "document"}


def _tei_right_only(body: dict[str, Any]) -> None:
    direction = _str(body, "truncation_direction", "Right")
    if direction.lower() != "right":
        raise InvalidArgumentError.for_field("truncation_direction", "only Right truncation is supported")


def tei_embed(body: dict[str, Any]) -> tuple[EmbedCall, bool]:
    inputs, single = texts(body, "inputs")
    _tei_right_only(body)
    prompt_name = _str(body, "prompt_name", "document")
    if prompt_name not in _PROMPT_NAMES:
        raise InvalidArgumentError.for_field("prompt_name", f"unknown prompt_name {prompt_name!r}; use query or document")
    options = EmbedOptions(
        input_type=_PROMPT_NAMES[prompt_name],
        dimensions=_int(body, "dimensions"),
        normalize=_bool(body, "normalize", True),
        truncate=_bool(body, "truncate", False),
    )
    return EmbedCall("", inputs, options), single


def tei_vectors(embeddings: list[Embedding]) -> list[list[float]]:
    return [e.vector.tolist() for e in embeddings]


def tei_rerank(body: dict[str, Any]) -> tuple[RerankCall, bool]:
    """The call, and whether to answer raw scores (logits) instead of probabilities."""
    documents, _ = texts(body, "texts")
    _tei_right_only(body)
    call = RerankCall(
        model="",
        query=_str(body, "query"),
        documents=documents,
        return_documents=_bool(body, "return_text", False),
        truncate=_bool(body, "truncate", False),
    )
    return call, _bool(body, "raw_scores", False)


def tei_ranks(result: RerankResult, raw: bool) -> list[dict[str, Any]]:
    ranks = []
    for r in result.results:
        entry: dict[str, Any] = {"index": r.index, "score": raw_score(r.score, result.scoring) if raw else r.score}
        if r.document is not None:
            entry["text"] = r.document
        ranks.append(entry)
    return ranks


def tei_tokenize(body: dict[str, Any], model: str) -> TokenizeCall:
    inputs, _ = texts(body, "inputs")
    prompt_name = _str(body, "prompt_name", "document")
    if prompt_name not in _PROMPT_NAMES:
        raise InvalidArgumentError.for_field("prompt_name", f"unknown prompt_name {prompt_name!r}; use query or document")
    return TokenizeCall(model=model, inputs=inputs, input_type=_PROMPT_NAMES[prompt_name], return_tokens=True,
                        with_template=_bool(body, "add_special_tokens", True))


def tei_tokens(result: TokenizeResult) -> list[list[dict[str, Any]]]:
    return [
        [{"id": t, "text": piece, "special": special, "start": None, "stop": None}
         for t, piece, special in zip(c.token_ids, c.pieces, c.special)]
        for c in result.results
    ]


def tei_decode(body: dict[str, Any], model: str) -> tuple[DecodeCall, bool]:
    """The call, and whether `ids` was one list (answered with one string)."""
    ids = body.get("ids")
    if _is_ids(ids):
        return DecodeCall(model, [list(ids)]), True
    if isinstance(ids, list) and ids and all(_is_ids(i) for i in ids):
        return DecodeCall(model, [list(i) for i in ids]), False
    raise _wrong("ids", "a list of token ids or a list of such lists")


def tei_info(served: ServedModel, settings: Settings, version: str) -> dict[str, Any]:
    """TEI's /info, of the model a TEI client means (Application.primary_model)."""
    d = (served.chosen or served.plan.candidates[0]).description
    model_type: dict[str, Any] = (
        {"embedding": {"pooling": d.pooling}}
        if served.kind == "embedding"
        else {"reranker": {"id2label": {"0": "yes"}, "label2id": {"yes": 0}}}
    )
    return {
        "model_id": served.model_id,
        "model_sha": None,
        "model_dtype": d.quant,
        "model_type": model_type,
        "max_concurrent_requests": settings.max_concurrent_rpcs,
        "max_input_length": served.worker.n_ctx if served.worker else d.context_length,
        "max_batch_tokens": settings.step_tokens,
        "max_batch_requests": None,
        "max_client_batch_size": settings.max_inputs_per_request,
        "auto_truncate": False,
        "tokenization_workers": 1,
        "version": version,
        "sha": None,
        "docker_label": None,
    }


__all__ = [
    "JsonObject",
    "OpenAIEmbed",
    "cohere_rerank",
    "cohere_results",
    "json_object",
    "openai_embed",
    "openai_embeddings",
    "openai_model",
    "tei_decode",
    "tei_embed",
    "tei_info",
    "tei_rerank",
    "tei_ranks",
    "tei_tokenize",
    "tei_tokens",
    "tei_vectors",
    "texts",
    "with_texts",
]


def openai_model(served: ServedModel, reranks_by_cosine: bool) -> dict[str, Any]:
    """OpenAI's model object, plus what our ModelService says about it."""
    shown = served.chosen or served.plan.candidates[0]
    return {
        "id": served.model_id,
        "object": "model",
        "created": 0,
        "owned_by": "embedroute",
        "kind": served.kind,
        "state": served.state,
        "dimensions": shown.description.hidden_size,
        "context_length": served.worker.n_ctx if served.worker else 0,
        "quant": shown.description.quant,
        "serves_rerank_by_cosine": reranks_by_cosine,
    }
