"""How a cached vector is kept: its token count, whether it was truncated, and its float32 values."""

from __future__ import annotations

import struct

import numpy as np

from service.core.values import Embedding

_HEADER = struct.Struct("<IB")


def encode(embedding: Embedding) -> bytes:
    vector = np.ascontiguousarray(embedding.vector, dtype="<f4")
    return _HEADER.pack(embedding.n_tokens, int(embedding.truncated)) + vector.tobytes()


def decode(blob: bytes) -> Embedding:
    n_tokens, truncated = _HEADER.unpack_from(blob)
    vector = np.frombuffer(blob, dtype="<f4", offset=_HEADER.size).astype(np.float32)
    return Embedding(vector=vector, n_tokens=n_tokens, truncated=bool(truncated))


__all__ = ["decode", "encode"]
