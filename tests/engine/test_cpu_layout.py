"""The CPU's engine layout keeps llama.cpp's unfused attention (issue #27; docs/engine-tuning.md
section 11). Flash attention was faster on this CPU (+9 % tokens/s, -10 % query latency on the 0.6B
shape), but ggml's CPU kernel rounds to half precision inside attention, and on long inputs its
vectors drift from the model: a 1,565-token document came out at cosine 0.999988 against the float64
reference with it, 0.99999999 without. So the router leaves it off on a CPU, and long inputs match
the reference to seven nines."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from router.types import EngineSettings, engine_layout
from service.core.values import EmbedOptions
from service.engine import Model, load_model
from tests.conftest import SynthModels
from tests.reference.qwen3_numpy import Qwen3Reference

LINES = " ".join(f"line {i}: the river bends past the mill and the old stone bridge." for i in range(160))
TEXTS = [LINES[:1000], LINES[:3000], LINES[:6000]]
"""257, 781 and 1,565 tokens: split over 128-token steps, the last piece shorter than a step."""
SEVEN_NINES = 0.9999999


def reference_cosines(model: Model, reference: Qwen3Reference) -> list[float]:
    cosines = []
    for text in TEXTS:
        ids = list(model.prepare_embed(text, EmbedOptions()).tokens)
        ours = model.embed([text], EmbedOptions(normalize=False))[0].vector.astype(np.float64)
        theirs = reference.embed(ids)
        cosines.append(float(ours @ theirs / (np.linalg.norm(ours) * np.linalg.norm(theirs))))
    return cosines


@pytest.fixture(scope="module")
def cpu_layout(synth_models: SynthModels) -> Iterator[Model]:
    model = load_model(synth_models.embedding["F32"], EngineSettings(n_ctx=4096))
    yield model
    model.close()


def test_the_router_gives_a_cpu_unfused_attention_and_a_gpu_flash_attention() -> None:
    assert engine_layout(EngineSettings(), 8192).flash_attn is False
    assert engine_layout(EngineSettings(n_gpu_layers=99), 8192).flash_attn is True


def test_long_inputs_match_the_reference_to_seven_nines(cpu_layout: Model, reference_embedder: Qwen3Reference) -> None:
    assert (cpu_layout._rt.flash_attn, cpu_layout._rt.n_batch) == (False, 128)
    assert min(reference_cosines(cpu_layout, reference_embedder)) >= SEVEN_NINES


def test_flash_attention_on_this_cpu_still_drifts(synth_models: SynthModels, reference_embedder: Qwen3Reference) -> None:
    """Why the default holds: should a llama.cpp upgrade make the fused kernel exact, this fails, and
    the CPU default is worth measuring again (bench.layouts has its rows)."""
    model = load_model(synth_models.embedding["F32"], EngineSettings(n_ctx=4096, flash_attn=True))
    try:
        cosines = reference_cosines(model, reference_embedder)
    finally:
        model.close()
    assert min(cosines) < SEVEN_NINES
