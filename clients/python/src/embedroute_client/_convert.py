"""Requests from keyword arguments and numpy arrays from responses, shared by the sync
and asyncio clients so that both speak the API identically."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ._proto.embedroute.v1 import common_pb2, embed_pb2, model_pb2, rerank_pb2
from .errors import VectorSpaceMismatchError

InputType = Literal["query", "document"]
Precision = Literal["float32", "int8", "ubinary"]
Chunking = Literal["none", "mean", "chunks"]
Scoring = Literal["reranker", "cosine", "maxsim", "hybrid"]

_INPUT_TYPES = {None: common_pb2.INPUT_TYPE_UNSPECIFIED, "query": common_pb2.INPUT_TYPE_QUERY,
                "document": common_pb2.INPUT_TYPE_DOCUMENT}
_ENCODINGS = {"float32": embed_pb2.ENCODING_FLOAT32, "int8": embed_pb2.ENCODING_INT8,
              "ubinary": embed_pb2.ENCODING_UBINARY}
_CHUNKING = {"none": embed_pb2.CHUNKING_MODE_NONE, "mean": embed_pb2.CHUNKING_MODE_MEAN,
             "chunks": embed_pb2.CHUNKING_MODE_CHUNKS}
_SCORINGS = {None: rerank_pb2.SCORING_UNSPECIFIED, "reranker": rerank_pb2.SCORING_RERANKER,
             "cosine": rerank_pb2.SCORING_COSINE, "maxsim": rerank_pb2.SCORING_MAXSIM,
             "hybrid": rerank_pb2.SCORING_HYBRID}


@dataclass(frozen=True)
class HybridWeights:
    """The weights of `scoring="hybrid"`'s dense, sparse (lexical) and ColBERT scores (BGE-M3's
    own are 0.4, 0.2, 0.4, the server's default): each at least 0, not all 0; the server skips a
    score weighted 0."""

    dense: float
    sparse: float
    colbert: float


@dataclass(frozen=True)
class RerankResult:
    """One scored document; `index` is its position in the documents passed in."""

    index: int
    score: float
    document: str | None
    prompt_tokens: int
    truncated: bool


@dataclass(frozen=True)
class SparseVector:
    """One input's lexical weights (BGE-M3's sparse output): vocabulary ids ascending, the weight of
    each, and each id's token string when asked for (`return_tokens`)."""

    token_ids: list[int]
    weights: list[float]
    tokens: list[str]
    prompt_tokens: int
    truncated: bool

    def as_dict(self) -> dict[int, float]:
        """{token id: weight}: the lexical score of two inputs is the sum over their shared ids of
        the product of their weights."""
        return dict(zip(self.token_ids, self.weights))


@dataclass(frozen=True)
class Chunk:
    """One chunk of a long text, as the server cut it: the characters [start, end) it covers
    (`text`), its vector and the tokens the model read for it."""

    start: int
    end: int
    text: str
    vector: npt.NDArray[Any]
    prompt_tokens: int


def embed_options(
    *,
    instruction: str | None,
    dimensions: int | None,
    input_type: InputType | None,
    normalize: bool,
    truncate: bool,
    precision: Precision,
    chunking: Chunking = "none",
    chunk_size: int = 0,
    chunk_overlap: int = 0,
) -> embed_pb2.EmbedOptions:
    if input_type not in _INPUT_TYPES:
        raise ValueError(f"input_type must be 'query', 'document' or None, not {input_type!r}")
    if precision not in _ENCODINGS:
        raise ValueError(f"precision must be one of {sorted(_ENCODINGS)}, not {precision!r}")
    if chunking not in _CHUNKING:
        raise ValueError(f"chunking must be one of {sorted(_CHUNKING)}, not {chunking!r}")
    return embed_pb2.EmbedOptions(
        input_type=_INPUT_TYPES[input_type],
        instruction=instruction or "",
        dimensions=dimensions or 0,
        normalize=normalize,
        truncate=truncate,
        encoding=_ENCODINGS[precision],
        chunking=embed_pb2.Chunking(mode=_CHUNKING[chunking], size=chunk_size, overlap=chunk_overlap),
    )


def check_space(expected: str | None, actual: str, model: str) -> None:
    """Refuses an answer from another vector space than the caller requires (None: any)."""
    if expected is not None and actual != expected:
        raise VectorSpaceMismatchError(expected, actual, model)


def space_of(models: Iterable[model_pb2.Model], model: str) -> str:
    """The vector-space id of the named model, or of the only embedding model served."""
    found = [m for m in models if m.id == model or (not model and m.kind == model_pb2.MODEL_KIND_EMBEDDING)]
    if len(found) != 1:
        raise ValueError(f"name the model: {len(found)} embedding models match {model!r}")
    return found[0].vector_space_id


def vector(embedding: embed_pb2.Embedding, precision: Precision) -> npt.NDArray[Any]:
    """float32 values, int8 values (times `int8_scale` gives floats back) or packed bits."""
    if precision == "int8":
        return np.frombuffer(embedding.int8_values, dtype=np.int8).copy()
    if precision == "ubinary":
        return np.frombuffer(embedding.binary_values, dtype=np.uint8).copy()
    return np.array(embedding.float_values, dtype=np.float32)


def text_chunks(text: str, embedding: embed_pb2.Embedding, precision: Precision) -> list[Chunk]:
    return [
        Chunk(c.start, c.end, text[c.start : c.end], vector(c.embedding, precision), c.embedding.prompt_tokens)
        for c in embedding.chunks
    ]


def sparse_vector(v: embed_pb2.SparseVector) -> SparseVector:
    return SparseVector(list(v.token_ids), list(v.weights), list(v.tokens), v.prompt_tokens, v.truncated)


def matrix(embeddings: Sequence[embed_pb2.Embedding], precision: Precision) -> npt.NDArray[Any]:
    return np.stack([vector(e, precision) for e in embeddings])


def rerank_results(results: Iterable[rerank_pb2.RerankResult], return_documents: bool) -> list[RerankResult]:
    return [
        RerankResult(
            index=r.index,
            score=r.score,
            document=r.document if return_documents else None,
            prompt_tokens=r.prompt_tokens,
            truncated=r.truncated,
        )
        for r in results
    ]


def best_first(results: list[RerankResult], top_n: int) -> list[RerankResult]:
    ordered = sorted(results, key=lambda r: (-r.score, r.index))
    return ordered[:top_n] if top_n else ordered


def chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """Lazily: a generator of documents is never read further than the chunk being sent."""
    if size < 1:
        raise ValueError("chunk_size must be at least 1")
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class Reorder:
    """Puts stream results (which arrive in completion order) back into input order."""

    def __init__(self) -> None:
        self._next = 0
        self._held: dict[int, npt.NDArray[Any]] = {}

    def push(self, index: int, value: npt.NDArray[Any]) -> list[tuple[int, npt.NDArray[Any]]]:
        self._held[index] = value
        ready: list[tuple[int, npt.NDArray[Any]]] = []
        while self._next in self._held:
            ready.append((self._next, self._held.pop(self._next)))
            self._next += 1
        return ready

    def finish(self) -> None:
        if self._held:
            raise RuntimeError(f"stream ended with results {sorted(self._held)} but no result for {self._next}")


def _scoring(scoring: Scoring | None, hybrid_weights: HybridWeights | None) -> dict[str, Any]:
    """The request's scoring fields; the server checks them (weights without hybrid included)."""
    fields: dict[str, Any] = {"scoring": _SCORINGS[scoring]}
    if hybrid_weights is not None:
        fields["hybrid_weights"] = rerank_pb2.HybridWeights(
            dense=hybrid_weights.dense, sparse=hybrid_weights.sparse, colbert=hybrid_weights.colbert
        )
    return fields


def rerank_request(
    model: str, query: str, documents: Sequence[str], top_n: int | None, instruction: str | None,
    return_documents: bool, truncate: bool, scoring: Scoring | None = None, hybrid_weights: HybridWeights | None = None,
) -> rerank_pb2.RerankRequest:
    return rerank_pb2.RerankRequest(
        model=model, query=query, documents=list(documents), top_n=top_n or 0,
        instruction=instruction or "", return_documents=return_documents, truncate=truncate,
        **_scoring(scoring, hybrid_weights),
    )


def rerank_stream_first(
    model: str, query: str, top_n: int | None, instruction: str | None, return_documents: bool, truncate: bool,
    scoring: Scoring | None = None, hybrid_weights: HybridWeights | None = None,
) -> rerank_pb2.RerankStreamRequest:
    """The stream's first message: query and options (documents follow in chunks)."""
    return rerank_pb2.RerankStreamRequest(
        model=model, query=query, instruction=instruction or "", top_n=top_n or 0,
        return_documents=return_documents, truncate=truncate, **_scoring(scoring, hybrid_weights),
    )


def rerank_stream_requests(
    first: rerank_pb2.RerankStreamRequest, chunks: Iterable[list[str]]
) -> Iterator[rerank_pb2.RerankStreamRequest]:
    """The first message carries the query and options along with the first chunk; with
    no documents at all it goes alone, so that the server (not the client) says why."""
    sent = False
    for chunk in chunks:
        message = rerank_pb2.RerankStreamRequest()
        if not sent:
            message.CopyFrom(first)
        message.documents.extend(chunk)
        sent = True
        yield message
    if not sent:
        yield first
