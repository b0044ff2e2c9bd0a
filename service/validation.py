"""Domain requests and their checks, before anything is queued.

Every violation in a request is reported at once (one BadRequest with all field
violations), named by its proto path, so a client fixes its request in one round
trip. Checks that need the tokenizer (too many tokens) happen on the model's worker,
where the text is tokenised anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from service.engine.postprocess import MIN_DIMENSIONS
from service.engine.types import EmbedOptions, GgufDescription, InputType
from service.errors import FieldViolation, InvalidArgumentError

OutputEncoding = Literal["float32", "int8", "ubinary"]


@dataclass(frozen=True)
class Limits:
    max_inputs: int
    max_chars: int
    """Characters per text (input, query or document)."""


@dataclass(frozen=True)
class EmbedCall:
    model: str
    inputs: list[str]
    options: EmbedOptions
    encoding: OutputEncoding
    fields: list[str]
    """Proto path of each input, for error messages (`inputs[3]`, or `input` in a stream)."""


@dataclass(frozen=True)
class RerankCall:
    model: str
    query: str
    documents: list[str]
    top_n: int
    instruction: str | None
    return_documents: bool
    truncate: bool
    index_offset: int = 0
    """Index of documents[0] in the whole request (non-zero for later stream chunks)."""
    documents_field: str = "documents"


@dataclass(frozen=True)
class TokenizeCall:
    model: str
    inputs: list[str]
    input_type: InputType
    instruction: str | None
    query: str
    return_tokens: bool


def validate_embed(call: EmbedCall, limits: Limits, description: GgufDescription) -> None:
    violations = _texts("inputs", call.inputs, call.fields, limits)
    dims = call.options.dimensions
    if dims is not None and dims > description.hidden_size:
        violations.append(
            FieldViolation(
                "options.dimensions",
                f"{dims} is more than the {description.hidden_size} dimensions of {description.model_id}",
            )
        )
    elif dims is not None and dims < MIN_DIMENSIONS:
        violations.append(
            FieldViolation(
                "options.dimensions",
                f"{dims} is fewer than {MIN_DIMENSIONS}, the smallest Matryoshka cut; 0 means all dimensions",
            )
        )
    _raise_if_any(violations)


def validate_rerank(call: RerankCall, limits: Limits, *, allow_no_documents: bool = False) -> None:
    violations = []
    if not call.query.strip():
        violations.append(FieldViolation("query", "the query is empty"))
    elif len(call.query) > limits.max_chars:
        violations.append(FieldViolation("query", _too_many_chars(len(call.query), limits)))
    fields = [f"{call.documents_field}[{call.index_offset + i}]" for i in range(len(call.documents))]
    if call.documents or not allow_no_documents:
        violations += _texts(call.documents_field, call.documents, fields, limits)
    _raise_if_any(violations)


def validate_top_n(call: RerankCall) -> None:
    """A unary Rerank's top_n beyond its documents is a client bug (a stream's top_n spans all chunks)."""
    if call.top_n > len(call.documents):
        raise InvalidArgumentError.for_field(
            "top_n", f"top_n is {call.top_n} but there are {len(call.documents)} documents; 0 returns all"
        )


def validate_tokenize(call: TokenizeCall, limits: Limits) -> None:
    _raise_if_any(_texts("inputs", call.inputs, [f"inputs[{i}]" for i in range(len(call.inputs))], limits))


def _texts(name: str, texts: list[str], fields: list[str], limits: Limits) -> list[FieldViolation]:
    if not texts:
        return [FieldViolation(name, f"at least one entry is required in {name}")]
    if len(texts) > limits.max_inputs:
        return [FieldViolation(name, f"{len(texts)} entries; at most {limits.max_inputs} per message")]
    violations = []
    for f, text in zip(fields, texts, strict=True):
        if not text.strip():
            violations.append(FieldViolation(f, "empty text"))
        elif len(text) > limits.max_chars:
            violations.append(FieldViolation(f, _too_many_chars(len(text), limits)))
    return violations


def _too_many_chars(n: int, limits: Limits) -> str:
    return f"{n} characters; at most {limits.max_chars} per text"


def _raise_if_any(violations: list[FieldViolation]) -> None:
    if violations:
        summary = violations[0].description if len(violations) == 1 else f"{len(violations)} invalid fields"
        raise InvalidArgumentError(summary, violations)
