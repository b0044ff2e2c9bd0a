"""The engine layout the router chooses for a GPU placement: what the H200 needed to load and to run
near the card's rate (issue #27), testable without a card."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from router import explain

from router.catalog import Catalog, ModelGroup
from router.hardware import load_profile
from router.plan import Candidate, RouterPrefs
from router.policy import plan
from tests.conftest import SynthModels
from tests.router.shapes import ladder

PROFILES = Path(__file__).resolve().parents[2] / "router" / "profiles"


def chosen(profile: str, shape: str = "0.6B", prefs: RouterPrefs = RouterPrefs(), quant: str = "BF16") -> Candidate:
    group = ModelGroup(f"qwen3-embedding-{shape.lower()}", "embedding", tuple(ladder(shape, "embedding", (quant,))))
    (only,) = plan(Catalog((group,), ()), load_profile(PROFILES / f"{profile}.yaml"), prefs)
    return only.chosen


def test_an_h200_gets_mmap_long_steps_many_sequences_and_flash_attention() -> None:
    c = chosen("h200-141gb")
    assert (c.device, c.n_gpu_layers) == ("gpu", 29)
    layout = c.layout
    assert (layout.load_mode, layout.step_tokens, layout.query_step_tokens) == ("mmap", 4096, 4096)
    assert (layout.n_seq_max, layout.flash_attn, layout.kv) == (256, True, "unified")
    # the settings the engine is handed say the same, and the estimate sized memory for them
    assert (c.settings.n_batch, c.settings.n_gpu_layers) == (4096, 29)
    assert c.to_dict()["layout"]["load_mode"] == "mmap"


def test_a_cpu_keeps_read_short_steps_and_no_flash_attention() -> None:
    layout = chosen("cpu-avx512bf16-server").layout
    assert (layout.load_mode, layout.step_tokens, layout.query_step_tokens) == ("read", 128, 64)
    assert (layout.n_seq_max, layout.flash_attn) == (16, False)


@pytest.mark.parametrize(
    ("profile", "step"),
    [("h200-141gb", 4096), ("h100-80gb", 2048), ("a10-24gb", 512), ("t4-16gb", 512), ("rtx3070-8gb", 512)],
)
def test_the_gpu_step_grows_with_the_card(profile: str, step: int) -> None:
    """A step reserves a vocabulary-wide logits row per token (0.6 MiB for Qwen3): small cards keep
    512-token steps and the memory for better weights."""
    assert chosen(profile, quant="Q8_0").layout.step_tokens == step


def test_the_operator_overrides_the_placement() -> None:
    prefs = RouterPrefs(n_batch=1024, n_seq_max=32, flash_attn=False)
    layout = chosen("h200-141gb", prefs=prefs).layout
    assert (layout.step_tokens, layout.n_seq_max, layout.flash_attn, layout.load_mode) == (1024, 32, False, "mmap")


def test_embedroute_route_shows_the_layout(synth_models: SynthModels) -> None:
    folder = str(synth_models.embedding["Q8_0"].parent)
    on_gpu, on_cpu = io.StringIO(), io.StringIO()
    assert explain.main(["--models", folder, "--hardware-profile", str(PROFILES / "h200-141gb.yaml")], on_gpu) == 0
    assert explain.main(["--models", folder, "--hardware-profile", str(PROFILES / "laptop-avx2-16gb.yaml")], on_cpu) == 0
    assert "engine: 4096-token steps (4096 with queries), 256 sequences, flash attention on, unified KV, mmap" in (
        on_gpu.getvalue()
    )
    assert "engine: 128-token steps (64 with queries), 16 sequences, flash attention off, unified KV, read" in (
        on_cpu.getvalue()
    )
    shown = io.StringIO()
    assert explain.main(["--models", folder, "--hardware-profile", str(PROFILES / "h200-141gb.yaml"), "--json"], shown) == 0
    layouts = [m["chosen"]["layout"] for m in json.loads(shown.getvalue())["models"]]
    assert {(x["step_tokens"], x["n_seq_max"], x["flash_attn"], x["load_mode"]) for x in layouts} == {(4096, 256, True, "mmap")}
