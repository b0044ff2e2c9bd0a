"""How a cached value is kept as bytes: a full-precision vector with its token count and truncation,
or a rerank score with the same."""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from service.core.values import Embedding, RerankScore

T = TypeVar("T")

_VECTOR_HEADER = struct.Struct("<IB")
_SCORE = struct.Struct("<dIB")


@dataclass(frozen=True)
class Codec(Generic[T]):
    encode: Callable[[T], bytes]
    decode: Callable[[bytes], T]


def _encode_vector(embedding: Embedding) -> bytes:
    vector = np.ascontiguousarray(embedding.vector, dtype="<f4")
    return _VECTOR_HEADER.pack(embedding.n_tokens, int(embedding.truncated)) + vector.tobytes()


def _decode_vector(blob: bytes) -> Embedding:
    n_tokens, truncated = _VECTOR_HEADER.unpack_from(blob)
    vector = np.frombuffer(blob, dtype="<f4", offset=_VECTOR_HEADER.size).astype(np.float32)
    return Embedding(vector=vector, n_tokens=n_tokens, truncated=bool(truncated))


def _encode_score(score: RerankScore) -> bytes:
    return _SCORE.pack(score.score, score.n_tokens, int(score.truncated))


def _decode_score(blob: bytes) -> RerankScore:
    value, n_tokens, truncated = _SCORE.unpack(blob)
    return RerankScore(index=0, score=value, n_tokens=n_tokens, truncated=bool(truncated))


VECTORS: Codec[Embedding] = Codec(_encode_vector, _decode_vector)
SCORES: Codec[RerankScore] = Codec(_encode_score, _decode_score)
"""A score's `index` is not kept: the caller knows where each document is."""

__all__ = ["SCORES", "VECTORS", "Codec"]
