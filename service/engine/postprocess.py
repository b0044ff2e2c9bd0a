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
