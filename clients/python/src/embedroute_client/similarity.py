"""Cosine similarity as sentence-transformers' `model.similarity` computes it, so that code
written against a local model keeps working when the vectors come from the server."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def similarity(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Cosine similarity of every row of `a` with every row of `b`: shape (len(a), len(b)).

    1-D inputs count as one row. Vectors are re-normalised here, so un-normalised or
    Matryoshka-cut embeddings give true cosines too.
    """
    left = _rows(a)
    right = _rows(b)
    if left.shape[1] != right.shape[1]:
        raise ValueError(f"vectors of different sizes: {left.shape[1]} and {right.shape[1]}")
    return (_unit(left) @ _unit(right).T).astype(np.float32)


def _rows(x: npt.ArrayLike) -> npt.NDArray[np.float64]:
    array = np.asarray(x, dtype=np.float64)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"expected a vector or a matrix, got shape {array.shape}")
    return array


def _unit(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)
