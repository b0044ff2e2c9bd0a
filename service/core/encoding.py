"""Output encodings of finished vectors, like sentence-transformers' `quantize_embeddings`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from service.core.results import Scoring
from service.core.values import Vector

Encoding = Literal["float32", "int8", "ubinary"]


@dataclass(frozen=True)
class EncodedVector:
    """Bytes for int8/ubinary; `scale` turns int8 back into floats (value = int8 * scale)."""

    data: bytes
    scale: float


def encode(vector: Vector, encoding: Encoding) -> EncodedVector:
    """int8 is symmetric per vector, so dequantised cosines are exact up to rounding;
    ubinary packs the sign bits like sentence-transformers' `quantize_embeddings`."""
    if encoding == "int8":
        peak = float(np.max(np.abs(vector))) if vector.size else 0.0
        scale = peak / 127.0 if peak > 0.0 else 1.0
        return EncodedVector(np.clip(np.rint(vector / scale), -127, 127).astype(np.int8).tobytes(), scale)
    if encoding == "ubinary":
        return EncodedVector(np.packbits(vector > 0).tobytes(), 1.0)
    return EncodedVector(vector.astype("<f4").tobytes(), 1.0)


def raw_score(score: float, scoring: Scoring) -> float:
    """A reranker's p(yes) as the yes-minus-no logit it is the softmax of (TEI's `raw_scores`);
    a cosine or a MaxSim has no such logit and stays as it is."""
    if scoring != "reranker":
        return score
    p = min(max(score, 1e-12), 1.0 - 1e-12)
    return math.log(p / (1.0 - p))
