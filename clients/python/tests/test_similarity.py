from __future__ import annotations

import numpy as np
import pytest

from embedroute_client import similarity


def test_similarity_is_the_cosine_matrix() -> None:
    a = np.array([[3.0, 4.0], [1.0, 0.0]])
    b = np.array([[0.0, 2.0], [1.0, 1.0], [-1.0, 0.0]])
    expected = np.array([[0.8, 7 / (5 * np.sqrt(2)), -0.6], [0.0, 1 / np.sqrt(2), -1.0]])
    np.testing.assert_allclose(similarity(a, b), expected, atol=1e-6)


def test_vectors_count_as_one_row() -> None:
    assert similarity([1.0, 0.0], [[1.0, 0.0], [0.0, 1.0]]).tolist() == [[1.0, 0.0]]


def test_mismatched_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="different sizes"):
        similarity([1.0, 0.0], [1.0, 0.0, 0.0])
