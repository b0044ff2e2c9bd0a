"""The engine's vectors against an independent numpy Qwen3 on the same weights, per quantisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from router.types import EngineSettings

from service.core.values import EmbedOptions
from service.engine import Model, load_model
from tests.conftest import SynthModels
from tests.engine.conftest import SETTINGS
from tests.reference.qwen3_numpy import Qwen3Reference

TEXTS = [
    "What is the capital of China?",
    "The capital of China is Beijing.",
    "Gravity is a force that attracts two bodies towards each other.",
    "東京は日本の首都です。",
    "Ein kurzer deutscher Satz über Wetter und Wolken.",
]
MIN_COSINE = {"F32": 0.99999, "F16": 0.9999, "BF16": 0.999, "Q8_0": 0.995}


def _cosines(synth_models: SynthModels, reference: Qwen3Reference, quant: str) -> list[float]:
    return reference_cosines(synth_models.embedding[quant], reference, SETTINGS, TEXTS)


def reference_cosines(path: Path, reference: Qwen3Reference, settings: EngineSettings, texts: list[str]) -> list[float]:
    """Cosine of the engine's vector of each text to the reference's last-token vector of its tokens."""
    model = load_model(path, settings)
    try:
        return model_cosines(model, reference, texts)
    finally:
        model.close()


def model_cosines(model: Model, reference: Qwen3Reference, texts: list[str]) -> list[float]:
    """`reference_cosines` on a model already loaded."""
    options = EmbedOptions()
    results = []
    for text in texts:
        prepared = model.prepare_embed(text, options)
        got = model.embed_prepared([prepared], options)[0].vector
        results.append(float(np.dot(got, reference.embed(prepared.tokens))))
    return results


@pytest.mark.parametrize("quant", sorted(MIN_COSINE))
def test_vectors_match_reference(synth_models: SynthModels, reference_embedder: Qwen3Reference, quant: str) -> None:
    cosines = _cosines(synth_models, reference_embedder, quant)
    assert min(cosines) >= MIN_COSINE[quant], cosines


def test_lower_quants_keep_fidelity_order(synth_models: SynthModels, reference_embedder: Qwen3Reference) -> None:
    mean = {q: float(np.mean(_cosines(synth_models, reference_embedder, q))) for q in ("F16", "Q8_0", "Q4_K_M", "IQ3_M")}
    assert mean["F16"] > mean["Q8_0"] > mean["Q4_K_M"] > mean["IQ3_M"], mean
