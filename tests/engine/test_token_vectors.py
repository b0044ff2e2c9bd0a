"""Token vectors (issue #30): every token's final hidden state, against the numpy references.

The causal model's states are checked against the numpy Qwen3 (tests/reference) and the encoder's
against the numpy BERT (tests/models/bert_numpy.py), per token; both from the same context that
embeds, and a long causal sequence is split over several steps (`TOKEN_ROWS_PER_STEP`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from service.core.values import EmbedOptions
from service.engine import Model, load_model
from service.engine.stepper import TOKEN_ROWS_PER_STEP
from tests.conftest import SynthModels
from tests.engine.conftest import SETTINGS
from tests.models.bert_numpy import BertReference
from tests.models.conftest import bert_reference, checkpoint, minilm, minilm_f32  # noqa: F401 - shared fixtures
from tests.reference.qwen3_numpy import Qwen3Reference

TEXTS = [
    "What is the capital of China?",
    "東京は日本の首都です。",
    "Gravity is a force that attracts two bodies towards each other. " * 12,
]
RAW = EmbedOptions(normalize=False)


def _row_cosines(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    want = want / np.linalg.norm(want, axis=1, keepdims=True)
    got = got / np.linalg.norm(got, axis=1, keepdims=True)
    return np.sum(got * want, axis=1)


@pytest.fixture(scope="module")
def qwen3(synth_models: SynthModels) -> Iterator[Model]:
    model = load_model(synth_models.embedding["F32"], SETTINGS)
    yield model
    model.close()


def test_causal_token_states_match_reference(qwen3: Model, reference_embedder: Qwen3Reference) -> None:
    results = qwen3.embed_tokens(TEXTS, RAW)
    assert results[2].n_tokens > TOKEN_ROWS_PER_STEP  # the long one was decoded over several steps
    for text, result in zip(TEXTS, results, strict=True):
        prepared = qwen3.prepare_embed(text, RAW)
        assert result.token_ids == prepared.tokens
        want = reference_embedder.hidden_states(result.token_ids)
        assert result.vectors.shape == want.shape
        assert _row_cosines(result.vectors, want).min() >= 0.99999


def test_causal_last_token_is_the_embedding(qwen3: Model) -> None:
    for tokens, embedding in zip(qwen3.embed_tokens(TEXTS, RAW), qwen3.embed(TEXTS, RAW), strict=True):
        np.testing.assert_allclose(tokens.vectors[-1], embedding.vector, atol=1e-4)


def test_encoder_token_states_match_reference(minilm_f32: Model, bert_reference: BertReference) -> None:  # noqa: F811
    for text, result in zip(TEXTS, minilm_f32.embed_tokens(TEXTS, RAW), strict=True):
        assert result.token_ids == bert_reference.tokenize(text)
        want = bert_reference.hidden_states(result.token_ids)
        assert result.vectors.shape == want.shape
        assert _row_cosines(result.vectors, want).min() >= 0.99999


def test_encoder_mean_of_tokens_is_the_pooled_vector(minilm_f32: Model) -> None:  # noqa: F811
    for tokens, embedding in zip(minilm_f32.embed_tokens(TEXTS, RAW), minilm_f32.embed(TEXTS, RAW), strict=True):
        np.testing.assert_allclose(tokens.vectors.mean(axis=0), embedding.vector, atol=1e-4)


def test_dimensions_and_normalize_apply_per_token(qwen3: Model) -> None:
    raw = qwen3.embed_tokens(TEXTS[:1], RAW)[0].vectors
    cut = qwen3.embed_tokens(TEXTS[:1], EmbedOptions(dimensions=64))[0].vectors
    assert cut.shape == (raw.shape[0], 64)
    np.testing.assert_allclose(np.linalg.norm(cut, axis=1), 1.0, atol=1e-6)
    want = raw[:, :64] / np.linalg.norm(raw[:, :64], axis=1, keepdims=True)
    np.testing.assert_allclose(cut, want, atol=1e-6)


def test_token_vectors_cost_one_decode_of_each_token(qwen3: Model) -> None:
    before = qwen3.stepper.decoded
    results = qwen3.embed_tokens(TEXTS, RAW)
    assert qwen3.stepper.decoded - before == sum(r.n_tokens for r in results)


def test_token_vectors_beside_embeddings_in_one_batch(qwen3: Model) -> None:
    """Sequences with and without token states share steps; each gets its own kind of row."""
    prepared = [qwen3.prepare_embed(text, RAW) for text in TEXTS]
    for index, item in enumerate(prepared):
        qwen3.stepper.add(("tokens", index), item.tokens, every=True)
        qwen3.stepper.add(("vector", index), item.tokens)
    rows = {}
    while qwen3.stepper.busy:
        rows.update(qwen3.stepper.step().finished)
    for index, item in enumerate(prepared):
        assert rows[("tokens", index)].shape == (len(item.tokens), qwen3.description.hidden_size)
        np.testing.assert_allclose(rows[("tokens", index)][-1], rows[("vector", index)], atol=1e-4)


def test_a_step_outputs_at_most_token_rows_per_step(qwen3: Model) -> None:
    """The bound on what llama.cpp keeps for token rows: a long sequence's states come over several steps."""
    item = qwen3.prepare_embed(TEXTS[2], RAW)
    qwen3.stepper.add("long", item.tokens, every=True)
    sizes = []
    while qwen3.stepper.busy:
        step = qwen3.stepper.step()
        sizes.append(step.n_tokens)
    assert max(sizes) == TOKEN_ROWS_PER_STEP and sum(sizes) == len(item.tokens)
