"""What the router picks on the shipped hardware profiles, for the published model shapes.

Each row is a deployment: a profile from router/profiles/, the models in the models
folder (embedding and/or reranker of one shape, as GgufDescription values built from
the published shapes), and the expected choice per model, written as
QUANT@cpu or QUANT@gpu:LAYERS (LAYERS = n_layers + 1 means the whole model).
All rows plan for 2048 tokens per sequence (`--ctx 2048`).
Why each expectation holds is in the comment on its row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from router.catalog import Catalog, ModelGroup
from router.hardware import load_profile
from router.plan import ModelPlan, RouterPrefs
from router.policy import plan
from service.engine.types import ModelKind
from tests.router.shapes import FULL_LADDER, SIXTEEN_AND_EIGHT, ladder

PROFILES = Path(__file__).resolve().parents[2] / "router" / "profiles"
PAIR: tuple[ModelKind, ...] = ("embedding", "reranker")
EMBEDDING: tuple[ModelKind, ...] = ("embedding",)


@dataclass(frozen=True)
class Row:
    profile: str
    shape: str
    kinds: tuple[ModelKind, ...]
    quants: tuple[str, ...]
    expected: tuple[str, ...]


ROWS = {
    # 80 GB, compute capability 9.0: everything fits whole at full fidelity; BF16 is native.
    "h100-8b-pair": Row("h100-80gb", "8B", PAIR, FULL_LADDER, ("BF16@gpu:37", "BF16@gpu:37")),
    # F32 ranks above BF16 and fits: fidelity first.
    "h100-0.6b-pair-f32": Row("h100-80gb", "0.6B", PAIR, ("F32", *FULL_LADDER), ("F32@gpu:29", "F32@gpu:29")),
    # 4B BF16 is ~9.4 GiB on the GPU each; two fit the A10's ~19.9 GiB budget.
    "a10-4b-pair": Row("a10-24gb", "4B", PAIR, FULL_LADDER, ("BF16@gpu:37", "BF16@gpu:37")),
    # 8B BF16 (~16 GiB) fits alone but not twice; Q8_0 + Q8_0 (~9.5 GiB each) does.
    "a10-8b-pair": Row("a10-24gb", "8B", PAIR, FULL_LADDER, ("Q8_0@gpu:37", "Q8_0@gpu:37")),
    "a10-4b-bf16": Row("a10-24gb", "4B", EMBEDDING, SIXTEEN_AND_EIGHT, ("BF16@gpu:37",)),
    # Compute capability 7.5: BF16 is not native, F16 wins although BF16 is listed first.
    "t4-4b-never-bf16": Row("t4-16gb", "4B", EMBEDDING, SIXTEEN_AND_EIGHT, ("F16@gpu:37",)),
    # Two 4B F16 (2 x 9.4 GiB) exceed the T4's ~13 GiB; two Q8_0 (2 x 5.9) fit.
    "t4-4b-pair": Row("t4-16gb", "4B", PAIR, FULL_LADDER, ("Q8_0@gpu:37", "Q8_0@gpu:37")),
    "t4-8b-pair": Row("t4-16gb", "8B", PAIR, FULL_LADDER, ("Q4_K_M@gpu:37", "Q4_K_M@gpu:37")),
    # 8 GB card, only 16- and 8-bit files: none fits whole (Q8_0 needs ~9.5 GiB), so
    # Q8_0 goes partly to the GPU: (6581 MiB budget - 1329 compute - 400 CUDA) /
    # (196 MiB weights + 8 MiB KV per layer) = 23 layers; the rest run on the CPU.
    "rtx3070-8b-partial": Row("rtx3070-8gb", "8B", EMBEDDING, SIXTEEN_AND_EIGHT, ("Q8_0@gpu:23",)),
    # Two 8B models cannot share 6.4 GiB of GPU: the embedding model gets the GPU
    # (IQ4_XS, the best file that fits whole), the reranker the best CPU file (Q8_0:
    # this Ryzen has no AVX512_BF16).
    "rtx3070-8b-pair": Row("rtx3070-8gb", "8B", PAIR, FULL_LADDER, ("IQ4_XS@gpu:37", "Q8_0@cpu")),
    # A 1g.10gb MIG slice: ~8.4 GiB budget, two 4-bit 4B models side by side.
    "mig-4b-pair": Row("a100-mig-1g10gb", "4B", PAIR, FULL_LADDER, ("Q4_K_M@gpu:37", "IQ4_XS@gpu:37")),
    "mig-8b-pair": Row("a100-mig-1g10gb", "8B", PAIR, FULL_LADDER, ("Q6_K@gpu:37", "Q8_0@cpu")),
    # No GPU, AVX512_BF16: BF16 on the CPU.
    "cpu-bf16-8b-pair": Row("cpu-avx512bf16-server", "8B", PAIR, FULL_LADDER, ("BF16@cpu", "BF16@cpu")),
    # AVX2 laptop: F32 does not fit twice in 7.4 GiB, BF16/F16 are not native: Q8_0.
    "laptop-0.6b-pair": Row("laptop-avx2-16gb", "0.6B", PAIR, ("F32", *FULL_LADDER), ("Q8_0@cpu", "Q8_0@cpu")),
    "laptop-4b": Row("laptop-avx2-16gb", "4B", EMBEDDING, FULL_LADDER, ("Q8_0@cpu",)),
    # ARM with the BF16 extension: BF16 is native there.
    "arm-4b-pair": Row("arm-graviton3", "4B", PAIR, FULL_LADDER, ("BF16@cpu", "BF16@cpu")),
    # On ARM, Q4_0 (repacked by llama.cpp) ranks right after Q4_K, above IQ4_XS ...
    "arm-q4_0": Row("arm-graviton3", "8B", EMBEDDING, ("Q4_0", "IQ4_XS", "IQ3_M"), ("Q4_0@cpu",)),
    # ... and below IQ4_XS on x86.
    "x86-q4_0": Row("cpu-avx512bf16-server", "8B", EMBEDDING, ("Q4_0", "IQ4_XS", "IQ3_M"), ("IQ4_XS@cpu",)),
    # The host has 480 GiB free, the cgroup allows 6 GiB: BF16 (10.2 GiB) would fit the
    # host, Q4_K_M (5.1 GiB) is the best that fits the container.
    "container-4b": Row("container-6gb-limit", "4B", EMBEDDING, FULL_LADDER, ("Q4_K_M@cpu",)),
    # A GPU is present but the llama.cpp build is CPU-only: plan for the CPU.
    "l4-cpu-build-4b-pair": Row("l4-cpu-only-build", "4B", PAIR, FULL_LADDER, ("BF16@cpu", "BF16@cpu")),
    # Only 2-bit files fit the 16 GB laptop twice: chosen, and flagged degraded.
    "laptop-8b-degraded": Row("laptop-avx2-16gb", "8B", EMBEDDING, ("Q8_0", "Q6_K", "IQ2_M"), ("IQ2_M@cpu",)),
}


def run(row: Row) -> list[ModelPlan]:
    groups = tuple(
        ModelGroup(f"qwen3-{kind}-{row.shape.lower()}", kind, tuple(ladder(row.shape, kind, row.quants)))
        for kind in row.kinds
    )
    return plan(Catalog(groups, ()), load_profile(PROFILES / f"{row.profile}.yaml"), RouterPrefs(n_ctx=2048))


def label(p: ModelPlan) -> str:
    c = p.chosen
    return f"{c.description.quant}@{c.device}" + (f":{c.n_gpu_layers}" if c.device == "gpu" else "")


@pytest.mark.parametrize("name", sorted(ROWS))
def test_choice(name: str) -> None:
    row = ROWS[name]
    plans = run(row)
    assert [p.kind for p in plans] == list(row.kinds)
    assert tuple(label(p) for p in plans) == row.expected
    for p in plans:
        assert p.chosen.fits
        assert p.chosen.settings.n_gpu_layers == p.chosen.n_gpu_layers
        assert p.chosen.settings.n_ctx == 2048


def test_degraded_only_when_a_2_bit_file_is_chosen() -> None:
    degraded = {name for name, row in ROWS.items() if any(p.degraded for p in run(row))}
    assert degraded == {"laptop-8b-degraded"}
    (p,) = run(ROWS["laptop-8b-degraded"])
    assert "DEGRADED" in p.reason


def test_t4_never_picks_bf16_for_any_shape() -> None:
    for shape in ("0.6B", "4B", "8B"):
        row = Row("t4-16gb", shape, PAIR, SIXTEEN_AND_EIGHT, ())
        assert all(p.chosen.description.quant != "BF16" for p in run(row))


def test_partial_offload_splits_layers_and_memory() -> None:
    (p,) = run(ROWS["rtx3070-8b-partial"])
    c = p.chosen
    assert 0 < c.n_gpu_layers < c.description.n_layers
    assert c.estimate.gpu_bytes <= p.budget.gpu_bytes
    assert "layers offloaded" in p.reason


def test_threads_follow_the_cpu_quota_not_the_host() -> None:
    (p,) = run(ROWS["container-4b"])
    assert p.chosen.n_threads == 4
    assert p.chosen.settings.n_threads == 4
    assert p.budget.ram_bytes < 6 * 1024**3


def test_cpu_only_build_says_why_the_gpu_is_unused() -> None:
    plans = run(ROWS["l4-cpu-build-4b-pair"])
    assert all("CPU-only" in p.reason for p in plans)
    assert all(c.device == "cpu" for p in plans for c in p.candidates)


def test_shared_budget_is_respected() -> None:
    for name, row in ROWS.items():
        plans = run(row)
        budget = plans[0].budget
        assert sum(p.chosen.estimate.gpu_bytes for p in plans) <= budget.gpu_bytes, name
        assert sum(p.chosen.estimate.ram_bytes for p in plans) <= budget.ram_bytes, name
