"""BGE-M3's dense, sparse and ColBERT outputs from one decode (issue #30), against the numpy reference
(tests/models/m3_numpy.py) on the tiny XLM-RoBERTa the tests make, at F32."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from service.core.errors import EngineError
from service.core.values import EmbedOptions
from service.engine import Model, load_model
from tests.conftest import M3Models
from tests.engine.conftest import SETTINGS
from tests.models.m3_numpy import M3Reference

TEXTS = [
    "What is the capital of China?",
    "Gravity is a force that attracts two bodies towards each other.",
    "the the the model model query",
    "Paris is the capital of France, a city on a river. " * 6,
]
ALL = frozenset({"dense", "sparse", "colbert"})


@pytest.fixture(scope="module")
def m3(m3_models: M3Models) -> Iterator[Model]:
    model = load_model(m3_models.gguf["F32"], SETTINGS)
    yield model
    model.close()


@pytest.fixture(scope="module")
def reference(m3_models: M3Models) -> M3Reference:
    return M3Reference(m3_models.checkpoint)


def test_the_model_says_what_it_serves(m3: Model) -> None:
    assert m3.description.outputs == ("dense", "sparse", "colbert")
    assert (m3.description.pooling, m3.description.architecture) == ("cls", "bert")


def test_tokens_are_the_checkpoint_tokenizers(m3: Model, reference: M3Reference) -> None:
    for text in TEXTS:
        assert list(m3.prepare_embed(text, EmbedOptions()).tokens) == reference.tokenize(text)


def test_three_outputs_match_the_reference(m3: Model, reference: M3Reference) -> None:
    for text, out in zip(TEXTS, m3.embed_outputs(TEXTS, EmbedOptions(), ALL), strict=True):
        ids = reference.tokenize(text)
        assert out.dense is not None and out.sparse is not None and out.colbert is not None
        assert float(out.dense.vector @ reference.dense(ids)) >= 0.99999
        want = reference.sparse(ids)
        assert out.sparse.token_ids == sorted(want)
        assert np.abs(out.sparse.weights - np.array([want[t] for t in sorted(want)])).max() <= 1e-4
        colbert = reference.colbert(ids)
        assert out.colbert.token_ids == ids[1:] and out.colbert.vectors.shape == colbert.shape
        assert np.sum(out.colbert.vectors * colbert, axis=1).min() >= 0.99999


def test_dense_output_is_the_pooled_embedding(m3: Model) -> None:
    pooled = m3.embed(TEXTS, EmbedOptions())
    for out, embedding in zip(m3.embed_outputs(TEXTS, EmbedOptions(), frozenset({"dense"})), pooled, strict=True):
        assert out.sparse is None and out.colbert is None and out.dense is not None
        np.testing.assert_allclose(out.dense.vector, embedding.vector, atol=1e-5)


def test_repeated_ids_keep_their_largest_weight_and_specials_are_dropped(m3: Model, reference: M3Reference) -> None:
    ids = reference.tokenize(TEXTS[2])
    out = m3.embed_outputs([TEXTS[2]], EmbedOptions(), frozenset({"sparse"}))[0].sparse
    assert out is not None
    assert len(ids) > len(set(ids)) and len(out.token_ids) < len(set(ids))  # repeats collapse; <s> </s> go
    assert not {0, 1, 2, 3} & set(out.token_ids)
    assert out.n_tokens == len(ids)


def test_token_vectors_of_a_colbert_model_are_its_colbert_vectors(m3: Model) -> None:
    tokens = m3.embed_tokens(TEXTS[:2], EmbedOptions())
    outs = m3.embed_outputs(TEXTS[:2], EmbedOptions(), frozenset({"colbert"}))
    for t, out in zip(tokens, outs, strict=True):
        assert out.colbert is not None
        np.testing.assert_array_equal(t.vectors, out.colbert.vectors)


def test_all_three_cost_one_decode_of_each_token(m3: Model) -> None:
    before = m3.stepper.decoded
    outs = m3.embed_outputs(TEXTS, EmbedOptions(), ALL)
    assert m3.stepper.decoded - before == sum(out.sparse.n_tokens for out in outs if out.sparse is not None)
    assert m3.stepper.decoded - before == sum(len(m3.prepare_embed(t, EmbedOptions()).tokens) for t in TEXTS)


def test_a_model_without_the_head_has_no_sparse_output(synth_models) -> None:  # type: ignore[no-untyped-def]
    model = load_model(synth_models.embedding["F32"], SETTINGS)
    try:
        assert model.description.outputs == ("dense",)
        with pytest.raises(EngineError, match="has no sparse head"):
            model.embed_outputs(["hello"], EmbedOptions(), frozenset({"sparse"}))
    finally:
        model.close()


@pytest.mark.parametrize("quant", ["F16", "Q8_0"])
def test_quantised_rungs_serve_all_three(m3_models: M3Models, reference: M3Reference, quant: str) -> None:
    model = load_model(m3_models.gguf[quant], SETTINGS)
    try:
        out = model.embed_outputs(TEXTS[:1], EmbedOptions(), ALL)[0]
        ids = reference.tokenize(TEXTS[0])
        assert out.dense is not None and out.sparse is not None and out.colbert is not None
        assert float(out.dense.vector @ reference.dense(ids)) >= 0.99
        assert out.sparse.token_ids == sorted(reference.sparse(ids))
        assert np.sum(out.colbert.vectors * reference.colbert(ids), axis=1).min() >= 0.98
    finally:
        model.close()
