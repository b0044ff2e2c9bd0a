"""The registry never loads a file the router says does not fit: the model fails with the reason instead
of the process running out of memory; and a context set so large that nothing fits stops `serve` at once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import router
from router.hardware import load_profile
from service.app import Registry
from service.core.config import Settings
from router.errors import ConfigError
from service.serve import plan
from tests.conftest import SynthModels

PROFILES = Path(router.__file__).parent / "profiles"


@pytest.fixture
def folder(synth_models: SynthModels, tmp_path: Path) -> Path:
    (tmp_path / "q8.gguf").symlink_to(synth_models.embedding["Q8_0"])
    return tmp_path


def test_a_plan_that_does_not_fit_is_not_loaded(folder: Path) -> None:
    hardware = load_profile(PROFILES / "container-6gb-limit.yaml")
    plans = router.plan_models([folder], router.RouterPrefs(n_ctx=1 << 20), hardware)
    assert not any(c.fits for c in plans[0].candidates)
    registry = Registry(plans)
    changed: list[Any] = []

    async def note(served: Any) -> None:
        changed.append(served.state)

    asyncio.run(registry.load_all(Settings(threads=1), note))
    served = registry.models()[0]
    assert (served.state, served.worker, changed) == ("failed", None, ["failed"])
    assert served.errors[0].startswith("q8.gguf: does not fit (")


def test_serve_refuses_a_context_that_leaves_a_model_no_file_that_fits(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a recorded 6 GB container, a million tokens per sequence fit no file of the tiny model."""
    monkeypatch.setattr(router, "probe_hardware", lambda: load_profile(PROFILES / "container-6gb-limit.yaml"))
    assert plan(Settings(models=[folder], threads=1))[0].chosen.fits
    with pytest.raises(ConfigError) as caught:
        plan(Settings(models=[folder], ctx=1 << 20, threads=1))
    assert caught.value.setting == "ctx"
    assert caught.value.problem == (
        "qwen3-embedding-tiny needs 5.6 GiB at 1048576 tokens per sequence, more than the 5.3 GiB available; "
        "lower ctx (524288 tokens would fit)"
    )
    assert plan(Settings(models=[folder], ctx=524288, threads=1))[0].chosen.fits  # the offer holds
