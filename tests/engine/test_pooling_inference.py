"""A decoder embedding GGUF that names no pooling type is pooled by its last token, as trained.

Community conversions of the bare Qwen3Model carry no `qwen3.pooling_type`; mean pooling them
(what llama.cpp does by default) gives vectors unrelated to the model's. The file here is the
synthetic Qwen3 embedding model written without the pooling key, against the numpy reference.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from router.metadata import describe_gguf, infer_pooling, with_pooling
from router.types import PoolingChoice
from service.core.values import EmbedOptions
from service.engine import load_model
from tests.conftest import SynthModels
from tests.engine.conftest import SETTINGS
from tests.engine.test_reference_parity import reference_cosines
from tests.reference.qwen3_numpy import Qwen3Reference

TEXTS = ["What is the capital of China?", "Gravity is a force that attracts two bodies towards each other."]


def _cosines(path: Path, reference: Qwen3Reference, pooling: PoolingChoice | None = None) -> list[float]:
    return reference_cosines(path, reference, replace(SETTINGS, pooling=pooling), TEXTS)


def test_the_file_names_no_pooling_and_last_is_inferred(bare_models: dict[str, Path]) -> None:
    d = describe_gguf(bare_models["F32"])
    assert (d.kind, d.file_pooling, d.pooling, d.pooling_source) == ("embedding", "none", "last", "inferred")
    assert d.pooling_note == "last (inferred: the file names none)"


def test_architectures_decide_the_inferred_pooling() -> None:
    assert [infer_pooling(a) for a in ("qwen3", "qwen2", "llama", "mistral", "gemma3", "bert", "nomic-bert")] == [
        "last", "last", "last", "last", "last", "mean", "mean",
    ]


def test_inferred_last_token_vectors_equal_the_reference(bare_models: dict[str, Path]) -> None:
    reference = Qwen3Reference(bare_models["F32"])
    assert min(_cosines(bare_models["F32"], reference)) >= 0.99999


def test_override_to_mean_pools_by_the_mean(bare_models: dict[str, Path]) -> None:
    reference = Qwen3Reference(bare_models["F32"])
    model = load_model(bare_models["F32"], replace(SETTINGS, pooling="mean"))
    try:
        assert (model.description.pooling, model.description.pooling_source) == ("mean", "override")
        prepared = model.prepare_embed(TEXTS[0], EmbedOptions())
        got = model.embed_prepared([prepared], EmbedOptions())[0].vector
    finally:
        model.close()
    mean = reference.hidden_states(prepared.tokens).mean(axis=0)
    assert float(np.dot(got, mean / np.linalg.norm(mean))) >= 0.99999
    assert max(_cosines(bare_models["F32"], reference, "mean")) < 0.9


def test_override_on_a_file_that_names_its_pooling(synth_models: SynthModels, tmp_path: Path) -> None:
    """The other way round: the file says last; an override to mean is obeyed, and one to last keeps it."""
    d = describe_gguf(synth_models.embedding["F32"])
    assert (d.pooling, d.pooling_source) == ("last", "file")
    assert with_pooling(d, "mean").pooling_note == "mean (operator override; the file says last)"
    reference = Qwen3Reference(synth_models.embedding["F32"])
    assert min(_cosines(synth_models.embedding["F32"], reference, "last")) >= 0.99999
    assert max(_cosines(synth_models.embedding["F32"], reference, "mean")) < 0.9
