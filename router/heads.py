"""BGE-M3's sparse and ColBERT heads, carried in a GGUF's metadata.

llama.cpp refuses a file with tensors its graph does not know, and its quantiser copies every
metadata key to the new file, so the two small linear layers travel as float32 arrays under
keys of our own (`embedroute.sparse_linear.*`, `embedroute.colbert_linear.*`), weights row-major as [out, in], the way PyTorch stores a Linear's weight. A file with both arrays
of a head serves that head's output; every embedding model serves dense vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from router.gguf_header import SkippedArray, read_array

OutputKind = Literal["dense", "sparse", "colbert"]
OUTPUT_KINDS: tuple[OutputKind, ...] = ("dense", "sparse", "colbert")

SPARSE_WEIGHT = "embedroute.sparse_linear.weight"
SPARSE_BIAS = "embedroute.sparse_linear.bias"
COLBERT_WEIGHT = "embedroute.colbert_linear.weight"
COLBERT_BIAS = "embedroute.colbert_linear.bias"
_HEADS: dict[OutputKind, tuple[str, str]] = {"sparse": (SPARSE_WEIGHT, SPARSE_BIAS), "colbert": (COLBERT_WEIGHT, COLBERT_BIAS)}

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Linear:
    weight: F32
    """[out, in]."""
    bias: F32

    def __call__(self, rows: F32) -> F32:
        out: F32 = (rows @ self.weight.T + self.bias).astype(np.float32)
        return out


def outputs_of(fields: dict[str, Any]) -> tuple[OutputKind, ...]:
    """The outputs a file's metadata serves: dense always, and each head whose two arrays it has."""
    served: tuple[OutputKind, ...] = ("dense",)
    return served + tuple(kind for kind, keys in _HEADS.items() if all(k in fields for k in keys))


def head_bytes(fields: dict[str, Any]) -> int:
    """Bytes the heads take once loaded (float32), for the router's memory estimate."""
    return 4 * sum(_length(fields.get(key)) for keys in _HEADS.values() for key in keys)


def colbert_dim(fields: dict[str, Any]) -> int:
    """Length of the ColBERT head's vectors (0 when the file has none)."""
    return _length(fields.get(COLBERT_BIAS)) if "colbert" in outputs_of(fields) else 0


def read_head(path: Path, kind: OutputKind, hidden: int) -> Linear:
    """One head of the file, checked against the model's hidden size."""
    weight_key, bias_key = _HEADS[kind]
    bias = read_array(path, bias_key)
    weight = read_array(path, weight_key)
    if bias.size == 0 or weight.size != bias.size * hidden:
        raise ValueError(f"{path.name}: {weight_key} holds {weight.size} values, not {bias.size} x {hidden}")
    return Linear(weight.reshape(bias.size, hidden), bias)


def _length(value: Any) -> int:
    if isinstance(value, SkippedArray):
        return value.length
    return len(value) if isinstance(value, list) else 0
