"""The requests every front translates into: one shape per capability, in the core's own field names.

A front fills these from its wire format and nothing else; validation
(`service.app.validation`) checks them once, and its violations name these fields
(`inputs[3]`, `dimensions`, `documents[0]`), which each front maps back to its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from router.types import ModelKind

from service.core.values import Chunking, EmbedOptions, InputType

OutputEncoding = Literal["float32", "int8", "ubinary"]
UnnamedModel = Literal["only", "primary"]
"""What a call that names no model means: the only model it can use (several are an error), or the
primary one, for single-model APIs whose calls never name one (TEI; `Application.primary_model`)."""


@dataclass(frozen=True)
class EmbedCall:
    model: str
    """Empty: the only embedding model served."""
    inputs: list[str]
    options: EmbedOptions
    encoding: OutputEncoding = "float32"
    token_ids: list[list[int]] | None = None
    """The inputs as token ids (OpenAI's token-array inputs), instead of `inputs`: the application
    decodes them with the model's vocabulary and embeds the texts."""
    chunking: Chunking = Chunking()


@dataclass(frozen=True)
class EmbedStreamItem:
    """One input of an embedding stream; `id` is the caller's, returned with its result."""

    id: str
    call: EmbedCall


@dataclass(frozen=True)
class RerankCall:
    model: str
    query: str
    documents: list[str]
    top_n: int = 0
    """0: every document."""
    instruction: str | None = None
    return_documents: bool = False
    truncate: bool = False
    scoring: str = ""
    """How to score (`service.core.results.SCORINGS`); empty: with a reranker when one is served, else
    by cosine over the embedding model. The application checks the name."""
    best_chunk: bool = False
    """A document longer than the context is scored by its best window (service.app.chunking)."""
    hybrid_weights: tuple[float, float, float] | None = None
    """Hybrid scoring's weights of the dense, sparse and ColBERT scores; None: BGE-M3's defaults."""


@dataclass(frozen=True)
class TokenizeCall:
    model: str
    inputs: list[str]
    input_type: InputType = "document"
    instruction: str | None = None
    query: str = ""
    """Rerankers count query-document pairs."""
    return_tokens: bool = False
    with_template: bool = False
    """Return the prompt's tokens as the model sees them (template and special tokens, as TEI's
    `add_special_tokens`), not only the input's own."""
    chunking: Chunking = Chunking()
    """Mode other than none: also say how each input would be chunked (Embed's chunking, or on a
    reranker Rerank's best_chunk windows)."""
    unnamed: UnnamedModel = "only"


@dataclass(frozen=True)
class DecodeCall:
    """Token ids back to text, with the model's own vocabulary (fronts whose clients send ids)."""

    model: str
    """Empty: the only model served."""
    token_ids: list[list[int]]
    kind: ModelKind | None = None
    """The kind of model the ids belong to (e.g. "embedding" for an embedding call's ids); None: any."""
    unnamed: UnnamedModel = "only"
    skip_special: bool = False
    """Control tokens (`<|endoftext|>`) spell nothing, as TEI's `skip_special_tokens`."""


__all__ = ["DecodeCall", "EmbedCall", "EmbedStreamItem", "OutputEncoding", "RerankCall", "TokenizeCall", "UnnamedModel"]
