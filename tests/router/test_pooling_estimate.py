"""The memory estimate follows the pooling actually used, inferred or overridden.

A decoder file that names no pooling was once planned as an encoder (a whole-context
micro-batch with every token an output: 10.4 GB for a 168 MB file); with the pooling
inferred it is planned, and measured, as the last-token model it is.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

from router import explain
from router.catalog import build_catalog
from router.estimate import engine_shape, estimate
from router.hardware import load_profile
from router.plan import RouterPrefs
from router.policy import plan
from router.metadata import describe_gguf, with_pooling
from tests.router.test_estimate import N_CTX, measured
from tests.router.test_policy_profiles import PROFILES


def test_estimate_of_the_inferred_pooling_is_within_15_percent_of_rss(bare_models: dict[str, Path]) -> None:
    d = describe_gguf(bare_models["Q8_0"])
    est = estimate(d, RouterPrefs(n_ctx=N_CTX))
    real = measured(bare_models["Q8_0"])
    assert (real["n_ctx"], real["longest_sequence"]) == (N_CTX, N_CTX)
    assert abs(est.ram_bytes - real["rss_after_batch"]) <= 0.15 * real["rss_after_batch"]
    as_encoder = estimate(replace(d, pooling="mean"), RouterPrefs(n_ctx=N_CTX))
    assert as_encoder.ram_bytes > 3 * est.ram_bytes


def test_the_shape_follows_an_override(bare_models: dict[str, Path]) -> None:
    d = describe_gguf(bare_models["Q8_0"])
    prefs = RouterPrefs(n_ctx=N_CTX)
    last, mean = engine_shape(d, prefs), engine_shape(with_pooling(d, "mean"), prefs)
    assert (last.embeddings, last.n_ubatch) == (False, 128)
    assert (mean.embeddings, mean.n_ubatch) == (True, N_CTX)


def test_the_router_plans_with_the_override(bare_models: dict[str, Path]) -> None:
    catalog = build_catalog([bare_models["Q8_0"].parent])
    model_id = catalog.models[0].model_id
    laptop = load_profile(PROFILES / "laptop-avx2-16gb.yaml")
    inferred = plan(catalog, laptop, RouterPrefs(n_ctx=N_CTX))[0]
    forced = plan(catalog, laptop, RouterPrefs(n_ctx=N_CTX, pooling={model_id: "mean"}))[0]
    assert inferred.chosen.description.pooling_note == "last (inferred: the file names none)"
    assert forced.chosen.description.pooling_note == "mean (operator override; the file says none)"
    assert forced.chosen.settings.pooling == "mean" and inferred.chosen.settings.pooling is None
    assert forced.chosen.estimated_bytes > inferred.chosen.estimated_bytes


def test_embedroute_route_reports_the_pooling(bare_models: dict[str, Path]) -> None:
    folder = str(bare_models["Q8_0"].parent)
    profile = str(PROFILES / "laptop-avx2-16gb.yaml")
    inferred, forced = io.StringIO(), io.StringIO()
    assert explain.main(["--models", folder, "--hardware-profile", profile], inferred) == 0
    pooled = ["--pooling", "qwen3-embedding-tiny=mean"]
    assert explain.main(["--models", folder, "--hardware-profile", profile, *pooled], forced) == 0
    assert "tokens per sequence, pooling: last (inferred: the file names none)" in inferred.getvalue()
    assert "tokens per sequence, pooling: mean (operator override; the file says none)" in forced.getvalue()
