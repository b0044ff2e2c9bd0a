"""The engine on our GGUFs against an independent numpy BERT on the original safetensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from service.core.values import EmbedOptions
from service.engine import Model, load_model
from tests.models.bert_numpy import BertReference
from tests.models.conftest import SETTINGS

SENTENCES = [
    "What is the capital of China?",
    "The capital of China is Beijing.",
    "Gravity is a force that attracts two bodies towards each other.",
    "Héllo WORLD, it's 3.14 o'clock: a naïve café!",
    "unbelievably tokenization-heavy hyperparameters",
    "A man is playing a guitar on stage while the crowd sings along.",
]
MIN_COSINE = {"F32": 0.9999, "F16": 0.9999, "Q8_0": 0.995}


@pytest.fixture(scope="module")
def reference_vectors(bert_reference: BertReference) -> list[np.ndarray]:
    return [bert_reference.embed(bert_reference.tokenize(s)) for s in SENTENCES]


def _cosines(path: Path, reference: list[np.ndarray]) -> list[float]:
    model = load_model(path, SETTINGS)
    try:
        vectors = [e.vector for e in model.embed(SENTENCES, EmbedOptions())]
    finally:
        model.close()
    return [float(np.dot(got, want)) for got, want in zip(vectors, reference)]


@pytest.mark.parametrize("quant", sorted(MIN_COSINE))
def test_engine_matches_reference(minilm: dict[str, Path], reference_vectors: list[np.ndarray], quant: str) -> None:
    cosines = _cosines(minilm[quant], reference_vectors)
    assert min(cosines) >= MIN_COSINE[quant], cosines


def test_q4_k_m_drifts_more_than_q8_0(minilm: dict[str, Path], reference_vectors: list[np.ndarray]) -> None:
    q8 = float(np.mean(_cosines(minilm["Q8_0"], reference_vectors)))
    q4 = float(np.mean(_cosines(minilm["Q4_K_M"], reference_vectors)))
    assert 0.98 < q4 < q8 < 1.0, (q4, q8)


def test_batching_sequences_of_different_lengths_keeps_them_apart(minilm_f32: Model) -> None:
    """One decode holds six sequences; a leak of attention or pooling across them would show here."""
    together = [e.vector for e in minilm_f32.embed(SENTENCES, EmbedOptions())]
    alone = [minilm_f32.embed([s], EmbedOptions())[0].vector for s in SENTENCES]
    assert min(float(np.dot(a, b)) for a, b in zip(together, alone)) > 0.99999
