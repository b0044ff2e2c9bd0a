from __future__ import annotations

import numpy as np

from embedroute_client import Client


def test_token_vectors_one_matrix_per_input(client: Client) -> None:
    one = client.embed_tokens("late interaction")
    both = client.embed_tokens(["late interaction", "a second, longer input text"])
    assert isinstance(one, np.ndarray) and isinstance(both, list)
    assert one.ndim == 2 and one.shape[1] == 256 and one.dtype == np.float32
    assert both[1].shape[0] > one.shape[0]
    np.testing.assert_allclose(np.linalg.norm(both[1], axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(both[0], one, atol=1e-5)


def test_token_vectors_cut_and_raw(client: Client) -> None:
    raw = client.embed_tokens("matryoshka", normalize=False)
    cut = client.embed_tokens("matryoshka", dimensions=64)
    assert isinstance(raw, np.ndarray) and isinstance(cut, np.ndarray)
    want = raw[:, :64] / np.linalg.norm(raw[:, :64], axis=1, keepdims=True)
    np.testing.assert_allclose(cut, want, atol=1e-5)
