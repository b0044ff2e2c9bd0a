"""Matryoshka truncation and normalisation of finished vectors."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from service.engine.types import Vector
from service.errors import InvalidArgumentError

MIN_DIMENSIONS = 32


def check_dimensions(dimensions: int | None, hidden_size: int, field: str = "dimensions") -> None:
    """Qwen3-Embedding is trained for Matryoshka cuts from 32 up to its hidden size."""
    if dimensions is None:
        return
    upper = hidden_size
    if not MIN_DIMENSIONS <= dimensions <= upper:
        lower = min(MIN_DIMENSIONS, upper)
        raise InvalidArgumentError.for_field(
            field, f"dimensions must be between {lower} and {upper} for this model, got {dimensions}"
        )


def finish(vector: npt.NDArray[np.float32], dimensions: int | None, normalize: bool) -> Vector:
    """Cut to the first `dimensions` components, then re-normalise (the MRL recipe)."""
    out = np.array(vector[:dimensions] if dimensions else vector, dtype=np.float32)
    if normalize:
        norm = float(np.linalg.norm(out))
        if norm > 0.0:
            out /= norm
    return out
