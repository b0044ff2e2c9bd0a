"""A fake hub per test, serving the synth tiny ladder as if it were a Qwen repository."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import SynthModels
from tests.prepare.fake_hub import FakeHub

EMBED_REPO = "Qwen/Qwen3-Embedding-0.6B-GGUF"
RERANK_REPO = "Qwen/Qwen3-Reranker-0.6B-GGUF"
LADDER = ("BF16", "F16", "Q8_0", "Q4_K_M")
"""No F32: it would win everywhere; without it, where BF16/F16 run natively decides."""


@pytest.fixture
def hub(synth_models: SynthModels) -> Iterator[FakeHub]:
    fake = FakeHub(
        {
            EMBED_REPO: [synth_models.embedding[q] for q in LADDER],
            RERANK_REPO: [synth_models.reranker_cls[q] for q in ("F16", "Q8_0")],
        }
    )
    yield fake
    fake.close()
