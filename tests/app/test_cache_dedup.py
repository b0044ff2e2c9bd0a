"""Identical inputs are computed once: repeated inside one request, and across requests in flight;
each caller gets its own answer (its cut and normalisation), in its own input order."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from tests.app.cache_support import embed, metric, model_folder, start
from tests.conftest import SynthModels


def test_repeated_inputs_are_computed_once_and_answered_in_order(synth_models: SynthModels, tmp_path: Path) -> None:
    models = model_folder(synth_models.embedding["Q8_0"], tmp_path)
    server, fresh = start(models), start(models, cache="off")
    try:
        texts = ["alpha", "beta", "alpha", "gamma", "beta", "alpha"]
        tokens_before = metric(server, "embedroute_tokens_total")
        vectors, usage = embed(server, texts, dimensions=32, normalize=False)
        assert metric(server, "embedroute_cache_inputs_total", result="miss") == 3
        assert metric(server, "embedroute_cache_inputs_total", result="shared") == 3
        expected, fresh_usage = embed(fresh, texts, dimensions=32, normalize=False)
        distinct = int(embed(fresh, ["alpha", "beta", "gamma"])[1].prompt_tokens)
        assert metric(server, "embedroute_tokens_total") - tokens_before == distinct  # the engine decoded each once
        assert usage.prompt_tokens == fresh_usage.prompt_tokens
        assert usage.cached_tokens == usage.prompt_tokens - distinct
        for got, want in zip(vectors, expected, strict=True):
            assert got.shape == (32,)
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
        assert vectors[0].tobytes() == vectors[2].tobytes() == vectors[5].tobytes()
        assert vectors[1].tobytes() == vectors[4].tobytes()

        unit, _ = embed(server, ["alpha"], dimensions=32)  # the same entry, this request's post-processing
        np.testing.assert_allclose(unit[0], vectors[0] / np.linalg.norm(vectors[0]), rtol=0, atol=1e-6)
    finally:
        server.stop()
        fresh.stop()


def test_requests_in_flight_share_one_computation(synth_models: SynthModels, tmp_path: Path) -> None:
    models = model_folder(synth_models.embedding["Q8_0"], tmp_path)
    server = start(models)
    try:
        text = "one long document that eight callers send at the same time " * 12
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda dims: embed(server, [text], dimensions=dims), [32, 48, 64] * 3))
        assert metric(server, "embedroute_cache_inputs_total", result="miss") == 1
        served = metric(server, "embedroute_cache_inputs_total", result="hit") + metric(
            server, "embedroute_cache_inputs_total", result="shared"
        )
        assert served == len(answers) - 1
        for (vectors, usage), dims in zip(answers, [32, 48, 64] * 3, strict=True):
            assert vectors[0].shape == (dims,)
            assert abs(float(np.linalg.norm(vectors[0])) - 1.0) < 1e-5
        assert sum(usage.cached_tokens == 0 for _, usage in answers) == 1
    finally:
        server.stop()

