"""Any valid UTF-8 is accepted: CJK, emoji, combining marks, astral planes."""

from __future__ import annotations

import numpy as np
import pytest

from service.core.values import EmbedOptions
from service.engine import Model

TEXTS = ["中文文本", "日本語のテキスト", "한국어", "🚀🔥👩‍👩‍👧‍👦", "𝕳𝖊𝖑𝖑𝖔 𐍈", "e\u0301", "\u200b\ufeff zero width"]


@pytest.mark.parametrize("text", TEXTS)
def test_embeds_any_unicode(embedder: Model, text: str) -> None:
    result = embedder.embed([text], EmbedOptions())[0]
    assert result.n_tokens >= 2
    assert np.isfinite(result.vector).all()
    assert abs(float(np.linalg.norm(result.vector)) - 1.0) < 1e-5


def test_distinct_scripts_give_distinct_vectors(embedder: Model) -> None:
    vectors = [r.vector for r in embedder.embed(TEXTS, EmbedOptions())]
    for i in range(len(vectors)):
        for j in range(i + 1, len(vectors)):
            assert not np.allclose(vectors[i], vectors[j])


def test_reranks_unicode(reranker_cls: Model) -> None:
    scores = [s.score for s in reranker_cls.rerank("首都?", TEXTS)]
    assert all(0.0 < s < 1.0 for s in scores)
