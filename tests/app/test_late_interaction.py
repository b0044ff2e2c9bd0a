"""MaxSim rerank (issue #30 item 2) against a numpy reference: ColBERT's sum over query tokens of the
best cosine with a document token, on the numpy Qwen3's hidden states of the same prompts."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from service.app.late_interaction import MaxSimRerankWork, maxsim
from service.engine import Model, load_model
from tests.conftest import SynthModels
from tests.engine.conftest import SETTINGS, reference_embedder  # noqa: F401 - the shared numpy Qwen3
from tests.reference.qwen3_numpy import Qwen3Reference

QUERY = "What is the capital of China?"
DOCUMENTS = [
    "The capital of China is Beijing.",
    "Gravity is a force that attracts two bodies towards each other.",
    "東京は日本の首都です。",
    "Beijing, China's capital, has been the seat of government for centuries. " * 4,
]


@pytest.fixture(scope="module")
def qwen3(synth_models: SynthModels) -> Iterator[Model]:
    model = load_model(synth_models.embedding["F32"], SETTINGS)
    yield model
    model.close()


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _reference_maxsim(query: np.ndarray, document: np.ndarray) -> float:
    return float(sum(max(float(q @ d) for d in document) for q in query))


def test_maxsim_is_colberts_sum_of_best_matches() -> None:
    rng = np.random.default_rng(30)
    query, document = _unit(rng.normal(size=(7, 32))), _unit(rng.normal(size=(19, 32)))
    assert abs(maxsim(query.astype(np.float32), document.astype(np.float32)) - _reference_maxsim(query, document)) < 1e-5
    assert maxsim(query.astype(np.float32), query.astype(np.float32)) == pytest.approx(7.0, abs=1e-5)


def test_maxsim_rerank_equals_numpy_reference(qwen3: Model, reference_embedder: Qwen3Reference) -> None:  # noqa: F811
    """Exact against numpy MaxSim on the engine's own token vectors; against the numpy Qwen3's states
    within 1e-4 per query token (the sum has one term per query token, each off by the model's own
    error, cosine >= 0.99999 per token at F32)."""
    work = MaxSimRerankWork(QUERY, DOCUMENTS, instruction=None, truncate=False)
    prepared = work.prepare(qwen3)
    rows = qwen3.run(prepared.items + prepared.extra, every=True)
    scores = work.finish(qwen3, prepared, rows)
    engine_query = _unit(rows[-1].astype(np.float64))
    query = _unit(reference_embedder.hidden_states(prepared.extra[0].tokens))
    n_query = len(prepared.extra[0].tokens)
    for score, row, item in zip(scores, rows[:-1], prepared.items, strict=True):
        assert abs(score - _reference_maxsim(engine_query, _unit(row.astype(np.float64)))) < 1e-4
        want = _reference_maxsim(query, _unit(reference_embedder.hidden_states(item.tokens)))
        assert abs(score - want) / n_query < 1e-4, (score, want, n_query)
    assert len(set(scores)) == len(scores)
