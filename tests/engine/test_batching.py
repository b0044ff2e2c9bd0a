"""Several sequences per decode give exactly what one-at-a-time decoding gives."""

from __future__ import annotations

import numpy as np

from service.core.values import EmbedOptions
from service.engine import Model

SHORT = ["hi", "a", "What is the capital of China?"]
LONG = " ".join(f"word{i} follows word{i - 1} in a long and winding sentence." for i in range(1, 25))


def test_batched_equals_single(embedder: Model) -> None:
    texts = [SHORT[0], LONG, SHORT[1], LONG[:300], SHORT[2]]
    options = EmbedOptions()
    batched = embedder.embed(texts, options)
    for text, got in zip(texts, batched):
        alone = embedder.embed([text], options)[0]
        assert got.n_tokens == alone.n_tokens
        np.testing.assert_allclose(got.vector, alone.vector, atol=2e-5)


def test_batches_larger_than_one_decode(embedder: Model) -> None:
    """More tokens than the context and more sequences than n_seq_max: split over decodes."""
    texts = [f"{LONG} variant {i}" for i in range(20)]
    options = EmbedOptions()
    assert sum(len(embedder.prepare_embed(t, options).tokens) for t in texts) > embedder.n_ctx
    batched = embedder.embed(texts, options)
    singles = [embedder.embed([t], options)[0] for t in (texts[0], texts[-1])]
    np.testing.assert_allclose(batched[0].vector, singles[0].vector, atol=2e-5)
    np.testing.assert_allclose(batched[-1].vector, singles[1].vector, atol=2e-5)
    assert not np.allclose(batched[0].vector, batched[-1].vector)


def test_rerank_batched_equals_single(reranker_cls: Model, reranker_lm: Model) -> None:
    docs = ["short", LONG, "another short one"]
    for model in (reranker_cls, reranker_lm):
        together = [s.score for s in model.rerank("query", docs)]
        alone = [model.rerank("query", [d])[0].score for d in docs]
        np.testing.assert_allclose(together, alone, atol=1e-5)
