"""A server with no model: the default repositories when the hub answers, else the embedded default."""

from __future__ import annotations

from pathlib import Path

from router import RouterPrefs, load_profile
from service.prepare.hf2gguf.default_model import DEFAULT_LADDER, DEFAULT_MODEL_NAME
from service.prepare.pull.startup import DEFAULT_REPOS, prepare_models
from tests.conftest import SynthModels
from tests.prepare.conftest import EMBED_REPO, RERANK_REPO
from tests.prepare.fake_hub import FakeHub

PROFILES = Path(__file__).resolve().parents[2] / "router" / "profiles"
CLOSED = "http://127.0.0.1:9"


def test_hub_reachable_pulls_the_default_repositories(hub: FakeHub, synth_models: SynthModels, tmp_path: Path) -> None:
    assert DEFAULT_REPOS == (EMBED_REPO, RERANK_REPO)
    models = tmp_path / "models"
    laptop = load_profile(PROFILES / "laptop-avx2-16gb.yaml")

    paths = prepare_models([models], RouterPrefs(), endpoint=hub.endpoint, hardware=laptop)

    # On an AVX2 laptop F16/BF16 are not native: Q8_0 of each, nothing else.
    want = [synth_models.embedding["Q8_0"].name, synth_models.reranker_cls["Q8_0"].name]
    assert [p.name for p in paths] == want
    assert sorted(p.name for p in models.iterdir()) == sorted(want + [name + ".sha256" for name in want])


def test_no_hub_prepares_the_embedded_default(tmp_path: Path) -> None:
    models = tmp_path / "models"
    paths = prepare_models([models], RouterPrefs(max_threads=1), endpoint=CLOSED)
    want = [f"{DEFAULT_MODEL_NAME}-{q}.gguf" for q in DEFAULT_LADDER]
    assert [p.name for p in paths] == want
    assert sorted(p.name for p in models.iterdir()) == sorted(want)


def test_a_configured_model_is_left_alone(hub: FakeHub, synth_models: SynthModels, tmp_path: Path) -> None:
    nested = tmp_path / "models" / "mine"
    nested.mkdir(parents=True)
    (nested / "m.gguf").symlink_to(synth_models.embedding["Q8_0"])
    assert prepare_models([tmp_path / "empty", tmp_path / "models"], RouterPrefs(), endpoint=hub.endpoint) == []
    assert hub.api_calls == []
    assert not (tmp_path / "empty").exists()
