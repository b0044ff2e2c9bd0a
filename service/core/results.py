"""What the application answers, before any front turns it into its wire format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from router.types import ModelKind, Pooling

from service.core.requests import EmbedStreamItem
from service.core.values import Embedding, SparseWeights, TokenVectors

Scoring = Literal["reranker", "cosine", "maxsim", "hybrid"]
"""How rerank scores were computed: a reranker's p(yes), the cosine of pooled embeddings, late
interaction over token vectors (ColBERT's MaxSim, service.app.late_interaction), or BGE-M3's
weighted dense + lexical + ColBERT score (service.app.hybrid)."""
SCORINGS: tuple[Scoring, ...] = ("reranker", "cosine", "maxsim", "hybrid")
"""What rerank scores mean: a reranker's p(yes), or the cosine fallback with no reranker served."""


@dataclass(frozen=True)
class Timing:
    queue_ns: int = 0
    """Waited before its first decode: in the queue, and in the engine for a slot or KV cells."""
    tokenization_ns: int = 0
    inference_ns: int = 0
    """Time of the decodes this request had tokens in (shared with whatever else was in them)."""


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    timing: Timing = field(default_factory=Timing)
    total_ns: int = 0
    """From the application receiving the call to its answer."""
    cached_tokens: int = 0
    """Of prompt_tokens, those of inputs this call did not compute: served by the vector cache, by
    another call computing the same input, or by an identical input earlier in the call."""

    def __add__(self, other: Usage) -> Usage:
        t, o = self.timing, other.timing
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            Timing(t.queue_ns + o.queue_ns, t.tokenization_ns + o.tokenization_ns, t.inference_ns + o.inference_ns),
            self.total_ns + other.total_ns,
            self.cached_tokens + other.cached_tokens,
        )


@dataclass(frozen=True)
class EmbedResult:
    model_id: str
    embeddings: list[Embedding]
    """In input order."""
    usage: Usage
    vector_space_id: str = ""
    """What decides these vectors (service/core/space.py); "" when ids are off. Every front reports it."""
    dimensions: int = 0
    """The vectors' length (the Matryoshka cut, or the model's full size), reported beside the id."""


@dataclass(frozen=True)
class TokenEmbedResult:
    """Every token's vector of each input (TEI's `/embed_all`, the EmbedTokens RPC)."""

    model_id: str
    inputs: list[TokenVectors]
    """In input order."""
    usage: Usage
    vector_space_id: str = ""
    """The token vectors' own space: never to be mixed with the model's pooled vectors."""
    dimensions: int = 0


@dataclass(frozen=True)
class SparseEmbedResult:
    """Each input's lexical weights (BGE-M3's sparse output: TEI's `/embed_sparse`, the EmbedSparse RPC)."""

    model_id: str
    inputs: list[SparseWeights]
    """In input order."""
    usage: Usage
    pieces: list[list[str]] | None = None
    """Each input's token strings, one per id of its weights, when asked for."""
    vector_space_id: str = ""
    """The sparse vectors' own space."""


@dataclass(frozen=True)
class EmbedStreamResult:
    item: EmbedStreamItem
    """The input it answers (its id, and the encoding asked for)."""
    result: EmbedResult


@dataclass(frozen=True)
class TokenEmbedStreamResult:
    """One answer of a stream of token-vector requests (TEI's EmbedAllStream)."""

    item: EmbedStreamItem
    result: TokenEmbedResult


@dataclass(frozen=True)
class SparseEmbedStreamResult:
    """One answer of a stream of sparse requests (TEI's EmbedSparseStream)."""

    item: EmbedStreamItem
    result: SparseEmbedResult


@dataclass(frozen=True)
class RankedDocument:
    index: int
    """Position in the whole request (across a stream's chunks)."""
    score: float
    prompt_tokens: int
    truncated: bool
    document: str | None = None
    """Set when the caller asked for return_documents."""
    chunks: int = 0
    """With best_chunk: the windows the document was scored in (1: it fitted whole)."""
    best: tuple[int, int] = (0, 0)
    """With best_chunk: the characters [start, end) of the window that gave the score."""


@dataclass(frozen=True)
class RerankResult:
    model_id: str
    results: list[RankedDocument]
    """Best first; ties by index."""
    usage: Usage
    scoring: Scoring


@dataclass(frozen=True)
class RerankChunkResult:
    """One chunk of a rerank stream, scored: `chunk` is the number of the message it came in."""

    chunk: int
    result: RerankResult


@dataclass(frozen=True)
class RerankStreamSummary:
    """The stream's last answer: the top_n best over every chunk, and the usage of all of them."""

    result: RerankResult


@dataclass(frozen=True)
class TokenCount:
    index: int
    input_tokens: int
    prompt_tokens: int
    """The whole prompt (template included), as the model would see it without truncation."""
    kept_input_tokens: int
    kept_text: str
    would_truncate: bool
    token_ids: list[int] = field(default_factory=list)
    pieces: list[str] = field(default_factory=list)
    special: list[bool] = field(default_factory=list)
    """Per token: a control token of the vocabulary (`<|endoftext|>`, `<|im_start|>`), not text."""
    chunks: list[tuple[int, int, int]] = field(default_factory=list)
    """With chunking: each window's characters [start, end) and its own tokens."""


@dataclass(frozen=True)
class TokenizeResult:
    model_id: str
    context_length: int
    results: list[TokenCount]
    usage: Usage


@dataclass(frozen=True)
class DecodeResult:
    model_id: str
    texts: list[str]
    """One per token-id list, in input order."""


@dataclass(frozen=True)
class ServerInfo:
    """The server and its primary model, as a single-model API reports them (TEI's Info, Ollama's
    version): built once, so every front reports the same."""

    model_id: str
    kind: ModelKind
    pooling: Pooling
    quant: str
    max_input_length: int
    """The loaded context, or the file's trained one while the model loads."""
    max_client_batch_size: int
    max_batch_tokens: int
    max_concurrent_requests: int
    version: str
    """embedroute's version, from the installed package's metadata."""


__all__ = [
    "DecodeResult",
    "EmbedResult",
    "EmbedStreamResult",
    "RankedDocument",
    "RerankChunkResult",
    "RerankResult",
    "RerankStreamSummary",
    "SCORINGS",
    "Scoring",
    "ServerInfo",
    "SparseEmbedStreamResult",
    "Timing",
    "TokenCount",
    "TokenEmbedResult",
    "TokenEmbedStreamResult",
    "TokenizeResult",
    "Usage",
]
