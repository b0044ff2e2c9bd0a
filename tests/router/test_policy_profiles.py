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
from router.types import ModelKind
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
    # Figures below are router/estimate.py's for --ctx 2048 (2048 KV cells; GPU steps of 512 tokens on
    # 8-24 GiB cards, longer on larger ones: router/policy.py:gpu_prefs): "gpu" = whole on the GPU (all layers and the output head), "cpu" =
    # RAM only. Budget = free memory less max(10% of the pool's size, 512 MiB);
    # 1 GiB = 1024 MiB.
    # 80 GB, compute capability 9.0: 8B BF16 is 15.1 GiB on the GPU, twice is 30.2 of the
    # 71.1 GiB budget; BF16 is native.
    "h100-8b-pair": Row("h100-80gb", "8B", PAIR, FULL_LADDER, ("BF16@gpu:37", "BF16@gpu:37")),
    # F32 ranks above BF16 and fits (0.6B F32: 3.1 GiB each): fidelity first.
    "h100-0.6b-pair-f32": Row("h100-80gb", "0.6B", PAIR, ("F32", *FULL_LADDER), ("F32@gpu:29", "F32@gpu:29")),
    # 4B BF16 is 8.5 GiB on the GPU each; two (17.0) fit the A10's 19.9 GiB budget.
    "a10-4b-pair": Row("a10-24gb", "4B", PAIR, FULL_LADDER, ("BF16@gpu:37", "BF16@gpu:37")),
    # 8B BF16 (15.1 GiB) fits alone but not twice, nor beside a Q8_0 (15.1 + 8.5); two
    # Q8_0 (2 x 8.5 = 17.0 GiB) do.
    "a10-8b-pair": Row("a10-24gb", "8B", PAIR, FULL_LADDER, ("Q8_0@gpu:37", "Q8_0@gpu:37")),
    "a10-4b-bf16": Row("a10-24gb", "4B", EMBEDDING, SIXTEEN_AND_EIGHT, ("BF16@gpu:37",)),
    # Compute capability 7.5: BF16 is not native, F16 (8.5 GiB of the 13.1 GiB budget)
    # wins although BF16 is listed first.
    "t4-4b-never-bf16": Row("t4-16gb", "4B", EMBEDDING, SIXTEEN_AND_EIGHT, ("F16@gpu:37",)),
    # Two 4B F16 (2 x 8.5 GiB) exceed the T4's 13.1 GiB; two Q8_0 (2 x 5.0) fit, and a
    # 16-bit file beside a Q8_0 (13.4) does not.
    "t4-4b-pair": Row("t4-16gb", "4B", PAIR, FULL_LADDER, ("Q8_0@gpu:37", "Q8_0@gpu:37")),
    # 8B on the T4 (13364 MiB budget): two Q6_K (2 x 6940 MiB) do not fit; Q6_K + Q5_K_M
    # (6940 + 6280 = 13220) do, so the worse-off model gets Q5_K_M and the other Q6_K.
    "t4-8b-pair": Row("t4-16gb", "8B", PAIR, FULL_LADDER, ("Q6_K@gpu:37", "Q5_K_M@gpu:37")),
    # 8 GB card, only 16- and 8-bit files: none fits whole (8B Q8_0 needs 8688 MiB), so
    # Q8_0 goes partly to the GPU: (6581 MiB budget - 332 compute - 400 CUDA) /
    # (195.5 MiB weights + 8 MiB KV per layer) = 28.7, so 28 layers (6430 MiB); the
    # other 8 run on the CPU. The compute buffer is the LM head's reserve for one
    # 512-token micro-batch (512 x 151,669 x 4 = 296 MiB) + mask 4 + residual 32 MiB.
    "rtx3070-8b-partial": Row("rtx3070-8gb", "8B", EMBEDDING, SIXTEEN_AND_EIGHT, ("Q8_0@gpu:28",)),
    # Two 8B models cannot share 6.4 GiB of GPU: the embedding model gets the GPU with
    # the best file that fits whole (Q5_K_M, 6280 MiB; Q6_K needs 6940), the reranker
    # the best CPU file (Q8_0, 8.7 GiB of RAM: BF16 would fit the 20.8 GiB but this
    # Ryzen has no AVX512_BF16).
    "rtx3070-8b-pair": Row("rtx3070-8gb", "8B", PAIR, FULL_LADDER, ("Q5_K_M@gpu:37", "Q8_0@cpu")),
    # A 1g.10gb MIG slice (8627 MiB budget; the whole A100 would take two BF16): two 4B
    # Q6_K (2 x 4155 MiB) fit side by side, Q8_0 + Q6_K (5083 + 4155) do not.
    "mig-4b-pair": Row("a100-mig-1g10gb", "4B", PAIR, FULL_LADDER, ("Q6_K@gpu:37", "Q6_K@gpu:37")),
    # 8B on the slice: Q8_0 whole (8688 MiB) misses it by 61 MiB, Q6_K (6940) fits. Two
    # 8B models cannot both be whole on it (even IQ3_M + IQ3_M needs 9500 MiB), so the
    # reranker takes the best CPU file, Q8_0.
    "mig-8b-pair": Row("a100-mig-1g10gb", "8B", PAIR, FULL_LADDER, ("Q6_K@gpu:37", "Q8_0@cpu")),
    # No GPU, AVX512_BF16: BF16 on the CPU (2 x 15.9 GiB of 107 GiB).
    "cpu-bf16-8b-pair": Row("cpu-avx512bf16-server", "8B", PAIR, FULL_LADDER, ("BF16@cpu", "BF16@cpu")),
    # AVX2 laptop (7578 MiB budget): 0.6B BF16 (1.5 GiB) would fit twice, but it is not
    # native here and ranks after Q8_0 (1.0 GiB each).
    "laptop-0.6b-pair": Row("laptop-avx2-16gb", "0.6B", PAIR, FULL_LADDER, ("Q8_0@cpu", "Q8_0@cpu")),
    # 4B F32 (15.6 GiB) and BF16 (8.1) do not fit 7.4 GiB; Q8_0 (4.6) does.
    "laptop-4b": Row("laptop-avx2-16gb", "4B", EMBEDDING, ("F32", *FULL_LADDER), ("Q8_0@cpu",)),
    # ARM with the BF16 extension: BF16 is native there (2 x 8.1 GiB of 55.6).
    "arm-4b-pair": Row("arm-graviton3", "4B", PAIR, FULL_LADDER, ("BF16@cpu", "BF16@cpu")),
    # On ARM, Q4_0 (repacked by llama.cpp) ranks right after Q4_K, above IQ4_XS ...
    "arm-q4_0": Row("arm-graviton3", "8B", EMBEDDING, ("Q4_0", "IQ4_XS", "IQ3_M"), ("Q4_0@cpu",)),
    # ... and below IQ4_XS on x86.
    "x86-q4_0": Row("cpu-avx512bf16-server", "8B", EMBEDDING, ("Q4_0", "IQ4_XS", "IQ3_M"), ("IQ4_XS@cpu",)),
    # The host has 480 GiB free and native BF16, so BF16 (8.1 GiB) would be chosen there;
    # the cgroup allows 6 GiB - 150 MiB used - 614 MiB headroom = 5380 MiB: Q8_0 (4696
    # MiB) is the best that fits the container.
    "container-4b": Row("container-6gb-limit", "4B", EMBEDDING, FULL_LADDER, ("Q8_0@cpu",)),
    # A GPU is present but the llama.cpp build is CPU-only: plan for the CPU.
    "l4-cpu-build-4b-pair": Row("l4-cpu-only-build", "4B", PAIR, FULL_LADDER, ("BF16@cpu", "BF16@cpu")),
    # 8 GB laptop, 5 GiB free: 5120 - 819 headroom = 4301 MiB. Every 3-bit-or-better 8B
    # file is bigger (IQ3_M, the smallest, needs 4668 MiB); IQ2_M (3683) is chosen, and
    # flagged degraded.
    "laptop-8gb-8b-degraded": Row("laptop-avx2-8gb", "8B", EMBEDDING, FULL_LADDER, ("IQ2_M@cpu",)),
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
    assert degraded == {"laptop-8gb-8b-degraded"}
    (p,) = run(ROWS["laptop-8gb-8b-degraded"])
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
