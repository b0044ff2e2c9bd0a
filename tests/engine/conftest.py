"""Engine fixtures: models loaded once per module, and the numpy reference on the F32 weights."""

from __future__ import annotations

from collections.abc import Iterator

import gguf
import numpy as np
import pytest

from router.types import EngineSettings
from service.engine import Model, load_model
from tests.conftest import SynthModels
from tests.reference.qwen3_numpy import F64, Qwen3Reference

SETTINGS = EngineSettings(n_ctx=512, n_seq_max=16)


@pytest.fixture(scope="session")
def reference_embedder(synth_models: SynthModels) -> Qwen3Reference:
    return Qwen3Reference(synth_models.embedding["F32"])


@pytest.fixture(scope="session")
def reference_reranker(synth_models: SynthModels) -> Qwen3Reference:
    return Qwen3Reference(synth_models.reranker_lm["F32"])


@pytest.fixture(scope="session")
def lm_head(synth_models: SynthModels) -> F64:
    reader = gguf.GGUFReader(str(synth_models.reranker_lm["F32"]))
    tensor = next(t for t in reader.tensors if t.name == "output.weight")
    return np.asarray(tensor.data, dtype=np.float64)


@pytest.fixture(scope="session")
def embedder(synth_models: SynthModels) -> Iterator[Model]:
    model = load_model(synth_models.embedding["F32"], SETTINGS)
    yield model
    model.close()


@pytest.fixture(scope="session")
def reranker_cls(synth_models: SynthModels) -> Iterator[Model]:
    model = load_model(synth_models.reranker_cls["F32"], SETTINGS)
    yield model
    model.close()


@pytest.fixture(scope="session")
def reranker_lm(synth_models: SynthModels) -> Iterator[Model]:
    model = load_model(synth_models.reranker_lm["F32"], SETTINGS)
    yield model
    model.close()
