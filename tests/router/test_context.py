"""The context the router gives each model: the trained length where memory allows (router/context.py).

Machines are described (router/profiles, or a profile with its free memory set between two
rungs' estimates); models are the published Qwen3 shapes (tests/router/shapes.py: trained for
32,768 tokens). Thresholds come from the estimate itself, so each case sits exactly between
two rungs."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest

from router.catalog import Catalog, ModelGroup
from router.context import at_context, fitting, ladder
from router.estimate import estimate
from router.explain import main
from router.hardware import Hardware, load_profile
from router.plan import ModelPlan, RouterPrefs
from router.policy import make_budget, plan
from router.types import ModelKind
from tests.conftest import SynthModels
from tests.router.shapes import describe

PROFILES = Path(__file__).resolve().parents[2] / "router" / "profiles"


def _catalog(shape: str, quants: tuple[str, ...], kinds: tuple[ModelKind, ...]) -> Catalog:
    groups = []
    for kind in kinds:
        variants = tuple(describe(shape, kind, q) for q in quants)
        groups.append(ModelGroup(variants[0].model_id, kind, variants))
    return Catalog(models=tuple(groups), unreadable=())


def _plan(hw: Hardware, shape: str, quants: tuple[str, ...], kinds: tuple[ModelKind, ...], **prefs: int) -> list[ModelPlan]:
    return plan(_catalog(shape, quants, kinds), hw, RouterPrefs(**prefs))


def _cpu(ram_bytes: int) -> Hardware:
    """The AVX-512 server profile with exactly `ram_bytes` free for plans (headroom added back)."""
    hw = load_profile(PROFILES / "cpu-avx512bf16-server.yaml")
    headroom = make_budget(hw, RouterPrefs()).ram_headroom_bytes
    return replace(hw, memory_available_bytes=ram_bytes + headroom, cgroup_memory_limit_bytes=None)


def _ram(shape: str, quant: str, kind: ModelKind, tokens: int) -> int:
    return estimate(describe(shape, kind, quant), RouterPrefs(n_ctx=tokens)).ram_bytes


def test_ladder_doubles_from_the_base_to_the_trained_length() -> None:
    assert ladder(8192, 32768) == [8192, 16384, 32768]
    assert ladder(8192, 40960) == [8192, 16384, 32768, 40960]
    assert ladder(512, 512) == [512]
    assert ladder(2048, 512) == [2048]


def test_plenty_of_memory_loads_the_trained_context() -> None:
    (p,) = _plan(load_profile(PROFILES / "cpu-avx512bf16-server.yaml"), "0.6B", ("Q8_0",), ("embedding",))
    assert p.context is not None and (p.context.tokens, p.context.trained) == (32768, 32768)
    assert p.chosen.settings.n_ctx == 32768
    assert p.chosen.estimate == estimate(p.chosen.description, RouterPrefs(n_ctx=32768))
    assert p.context.reason.startswith("32768 tokens: the file's trained context, where memory allows")
    assert "one KV pool of 3.5 GiB shared by every sequence" in p.context.reason


def test_the_kv_pool_is_shared_not_reserved_per_sequence() -> None:
    d = describe("0.6B", "embedding", "Q8_0")
    few = estimate(d, RouterPrefs(n_ctx=32768, n_seq_max=4))
    many = estimate(d, RouterPrefs(n_ctx=32768, n_seq_max=256))
    # 32,768 cells x 28 layers x (K, V) x 8 heads x 128 x 2 bytes, once, whatever the sequences.
    assert few.kv_bytes == many.kv_bytes == 32768 * 28 * 2 * 8 * 128 * 2


def test_memory_between_two_rungs_stops_at_the_lower_one() -> None:
    at_16k, at_32k = _ram("0.6B", "Q8_0", "embedding", 16384), _ram("0.6B", "Q8_0", "embedding", 32768)
    (p,) = _plan(_cpu((at_16k + at_32k) // 2), "0.6B", ("Q8_0",), ("embedding",))
    assert p.context is not None and p.context.tokens == 16384 and p.chosen.settings.n_ctx == 16384
    assert p.chosen.estimated_bytes == at_16k
    assert p.context.reason.startswith("16384 of the file's 32768 tokens (one KV pool of 1.8 GiB")
    assert "32768 would need " in p.context.reason and "more RAM, and " in p.context.reason


def test_fidelity_comes_before_a_long_context() -> None:
    """BF16 at 8,192 fits where it would not at 32,768: the file stays BF16, the context gives way."""
    at_8k = _ram("0.6B", "BF16", "embedding", 8192)
    (p,) = _plan(_cpu(at_8k + 1024), "0.6B", ("BF16", "Q8_0"), ("embedding",))
    assert p.chosen.description.quant == "BF16"
    assert p.context is not None and p.context.tokens == 8192
    assert "16384 would need" in p.context.reason


def test_two_models_take_turns_at_the_memory_left() -> None:
    """Enough for both at 16,384, or one at 32,768 and the other at 8,192: both get 16,384."""
    emb16, rer16 = _ram("0.6B", "Q8_0", "embedding", 16384), _ram("0.6B", "Q8_0", "reranker", 16384)
    emb32 = _ram("0.6B", "Q8_0", "embedding", 32768)
    rer8 = _ram("0.6B", "Q8_0", "reranker", 8192)
    assert emb32 + rer8 <= emb16 + rer16 + (emb32 - emb16) - 1
    plans = _plan(_cpu(emb16 + rer16 + (emb32 - emb16) - 1), "0.6B", ("Q8_0",), ("embedding", "reranker"))
    assert [p.context.tokens for p in plans if p.context] == [16384, 16384]


def test_an_operator_context_is_kept() -> None:
    (p,) = _plan(load_profile(PROFILES / "cpu-avx512bf16-server.yaml"), "0.6B", ("Q8_0",), ("embedding",), n_ctx=2048)
    assert p.context is not None and p.context.tokens == p.chosen.settings.n_ctx == 2048
    assert p.context.reason == "2048 tokens: set by the operator (ctx; the file is trained for 32768)"


def test_nothing_grows_while_a_model_does_not_fit() -> None:
    (p,) = _plan(_cpu(256 * 1024**2), "0.6B", ("Q8_0",), ("embedding",))
    assert not p.chosen.fits
    assert p.context is not None and p.context.tokens == 8192
    assert p.context.reason.endswith("the models do not fit even at this context")


@pytest.mark.parametrize("shape", ["0.6B", "8B"])
def test_a_large_gpu_takes_the_trained_context_for_a_pair(shape: str) -> None:
    plans = _plan(load_profile(PROFILES / "h100-80gb.yaml"), shape, ("BF16",), ("embedding", "reranker"))
    for p in plans:
        assert p.chosen.device == "gpu" and p.chosen.n_gpu_layers == p.chosen.description.n_layers + 1
        assert p.context is not None and p.context.tokens == p.chosen.settings.n_ctx == 32768
        assert p.chosen.estimate == at_context(p.chosen, RouterPrefs(), 32768).estimate


def test_route_shows_the_context_and_why(synth_models: SynthModels, tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "e.gguf").symlink_to(synth_models.embedding["Q8_0"])
    out = io.StringIO()
    profile = PROFILES / "cpu-avx512bf16-server.yaml"
    assert main(["--models", str(tmp_path / "m"), "--hardware-profile", str(profile)], out) == 0
    lines = out.getvalue().splitlines()
    head = lines.index("qwen3-embedding-tiny (embedding): 32768 tokens per sequence, pooling: last")
    assert lines[head + 1] == (
        "  context: 32768 tokens: the file's trained context, where memory allows "
        "(one KV pool of 32 MiB shared by every sequence)"
    )


def test_a_refused_context_offers_the_longest_that_fits() -> None:
    at_4k = _ram("0.6B", "Q8_0", "embedding", 4096)
    hw = _cpu(at_4k + 1024)
    (p,) = _plan(hw, "0.6B", ("Q8_0",), ("embedding",), n_ctx=65536)
    assert not p.chosen.fits
    budget = make_budget(hw, RouterPrefs())
    assert fitting(p.chosen, RouterPrefs(n_ctx=65536), budget) == 4096
    (tiny,) = _plan(_cpu(64 * 1024**2), "0.6B", ("Q8_0",), ("embedding",), n_ctx=65536)
    assert fitting(tiny.chosen, RouterPrefs(n_ctx=65536), make_budget(_cpu(64 * 1024**2), RouterPrefs())) is None
