"""Matryoshka truncation and normalisation of finished vectors (the cut is validated by the application)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from service.core.values import Vector


def finish(vector: npt.NDArray[np.float32], dimensions: int | None, normalize: bool) -> Vector:
    """Cut to the first `dimensions` components, then re-normalise (the MRL recipe)."""
    out = np.array(vector[:dimensions] if dimensions else vector, dtype=np.float32)
    if normalize:
        norm = float(np.linalg.norm(out))
        if norm > 0.0:
            out /= norm
    return out


def finish_rows(rows: npt.NDArray[np.float32], dimensions: int | None, normalize: bool) -> npt.NDArray[np.float32]:
    """`finish` for each row of a matrix (token vectors): cut, then each row re-normalised."""
    out = np.array(rows[:, :dimensions] if dimensions else rows, dtype=np.float32)
    if normalize:
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.where(norms > 0.0, norms, 1.0)
    return out
