"""Cached answers equal computed ones: bit for bit from the cache, and against a server with the
cache off (a fresh compute) within cosine 0.99999, for every cut and normalisation of one entry."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.app.cache_support import cosine, embed, model_folder, start
from tests.conftest import SynthModels

TEXTS = ["the cat sat on the mat", "a second, longer document about cached vectors", "query three"]


def test_cached_vectors_equal_computed_ones(synth_models: SynthModels, tmp_path: Path) -> None:
    models = model_folder(synth_models.embedding["Q8_0"], tmp_path)
    cached, fresh = start(models), start(models, cache="off")
    try:
        for options in ({}, {"dimensions": 32}, {"normalize": False}, {"dimensions": 48, "normalize": False}):
            first, usage = embed(cached, TEXTS, **options)
            again, usage_again = embed(cached, TEXTS, **options)
            computed, fresh_usage = embed(fresh, TEXTS, **options)
            assert usage_again.cached_tokens == usage_again.prompt_tokens == fresh_usage.prompt_tokens > 0
            assert fresh_usage.cached_tokens == 0
            for a, b, c in zip(first, again, computed, strict=True):
                assert a.tobytes() == b.tobytes()  # from the cache: bit for bit
                assert a.shape == c.shape == (options.get("dimensions", a.shape[0]),)
                assert cosine(b, c) >= 0.99999
                if options.get("normalize", True):
                    assert abs(float(np.linalg.norm(b)) - 1.0) < 1e-5
    finally:
        cached.stop()
        fresh.stop()
