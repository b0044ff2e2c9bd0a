"""The decision: (hardware, catalog, preferences) -> one plan per model. Pure, no I/O.

Per model, every file gets a placement on the GPU (whole, else as many layers as fit)
and one on the CPU, each with its memory estimate. They are ordered by:

1. fits the budget alone (RAM and GPU after headroom);
2. not degraded (2- and 1-bit files come last, whatever their placement);
3. placement: the whole model on the GPU, then at least half of its layers there,
   then the rest (fewer layers, or the CPU) - speed before fidelity across these;
4. fidelity on that device (router/quants.py, with BF16 and F16 demoted below Q8_0
   where they are not native: BF16 on GPUs before compute capability 8.0, both on
   CPUs without AVX512_BF16 / ARM BF16);
5. more layers on the GPU, then more bits per weight (IQ3_M before IQ3_S), then the
   smaller estimate.

F32 files rank above BF16: fidelity first whenever they fit. When several models
(an embedding model and a reranker) do not fit side by side, `share` picks the
combination of candidates that keeps the worst-off model highest on its own list, so
F32 gives way before anyone drops to a lower rung.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from router import quants
from router.catalog import Catalog, ModelGroup
from router.context import grow
from router.errors import RouterConfigError
from router.estimate import estimate
from router.hardware import GpuInfo, Hardware, format_bytes
from router.plan import Budget, Candidate, Device, MemoryEstimate, ModelPlan, Pin, RouterPrefs
from router.metadata import with_pooling
from router.types import GPU_STEP_TOKENS, GgufDescription

Q8_INDEX = next(i for i, r in enumerate(quants.LADDER) if r.family == "Q8_0")


def make_budget(hardware: Hardware, prefs: RouterPrefs) -> Budget:
    ram_capacity = hardware.cgroup_memory_limit_bytes or hardware.memory_total_bytes
    ram_headroom = prefs.headroom(min(ram_capacity, hardware.memory_total_bytes))
    gpus = hardware.usable_gpus
    gpu = max(gpus, key=lambda g: (g.memory_free_bytes, -g.index)) if gpus else None
    gpu_headroom = prefs.headroom(gpu.memory_total_bytes) if gpu else 0
    threads = hardware.cpu_threads if prefs.max_threads <= 0 else min(hardware.cpu_threads, prefs.max_threads)
    return Budget(
        ram_bytes=max(0, hardware.ram_bytes - ram_headroom),
        ram_headroom_bytes=ram_headroom,
        gpu=gpu,
        gpu_bytes=max(0, gpu.memory_free_bytes - gpu_headroom) if gpu else 0,
        gpu_headroom_bytes=gpu_headroom,
        threads=threads,
    )


@dataclass(frozen=True)
class Ranked:
    rank: float
    degraded: bool
    note: str


def rank_on(d: GgufDescription, device: Device, hardware: Hardware, gpu: GpuInfo | None) -> Ranked:
    """Fidelity rank of a file on a device (`gpu`: the one planned for), with why it moved."""
    placement = quants.place(d.quant, d.bits_per_weight, arm=hardware.cpu.is_arm)
    note = f"hybrid file ({d.bits_per_weight:.2f} bits/weight): ranked by its real size" if placement.hybrid else ""
    if placement.family in ("BF16", "F16") and not placement.hybrid:
        if device == "gpu" and gpu is not None:
            native = placement.family == "F16" or gpu.native_bf16
            why = f"compute capability {gpu.compute_capability[0]}.{gpu.compute_capability[1]} < 8.0"
        else:
            native = hardware.cpu.native_bf16
            why = "no " + ("ARM bf16" if hardware.cpu.is_arm else "avx512_bf16") + " on this CPU"
        if not native:
            offset = 0.2 if placement.family == "BF16" else 0.3
            return Ranked(Q8_INDEX + offset, False, f"{placement.family} not native ({why}): ranked after Q8_0")
    return Ranked(placement.rank, placement.degraded, note)


def _layers_fitting(d: GgufDescription, prefs: RouterPrefs, budget: Budget) -> tuple[int, MemoryEstimate] | None:
    """Most layers that fit the GPU with the rest in RAM, or None if not even one does."""
    for layers in range(d.n_layers, 0, -1):
        est = estimate(d, prefs, layers)
        if est.gpu_bytes <= budget.gpu_bytes and est.ram_bytes <= budget.ram_bytes:
            return layers, est
    return None


def _needs(est: MemoryEstimate, budget: Budget) -> str:
    parts = [f"needs {format_bytes(est.ram_bytes)} RAM of {format_bytes(budget.ram_bytes)}"]
    if est.gpu_bytes:
        parts.append(f"{format_bytes(est.gpu_bytes)} GPU of {format_bytes(budget.gpu_bytes)}")
    return ", ".join(parts)


def _candidate(
    d: GgufDescription,
    device: Device,
    layers: int,
    est: MemoryEstimate,
    fits: bool,
    why: str,
    prefs: RouterPrefs,
    budget: Budget,
    ranked: Ranked,
) -> Candidate:
    main_gpu = budget.gpu.index if device == "gpu" and budget.gpu is not None else None
    return Candidate(
        description=d,
        device=device,
        n_gpu_layers=layers,
        n_threads=budget.threads,
        estimated_bytes=est.total_bytes,
        fits=fits,
        reason=why,
        estimate=est,
        settings=prefs.engine_settings(d, budget.threads, layers, main_gpu),
        rank=ranked.rank,
        degraded=ranked.degraded,
    )


GPU_STEP_SHARE = 0.02
"""Share of a card's memory the worst case of a step's output head may take: llama.cpp reserves a
vocabulary-wide logits row per step token (0.6 MiB a token for Qwen3's 151,669 tokens)."""


def gpu_prefs(d: GgufDescription, prefs: RouterPrefs, gpu: GpuInfo) -> RouterPrefs:
    """The step a GPU placement runs: the operator's, else the longest power of two from 512 up to
    GPU_STEP_TOKENS whose reserved output rows stay within GPU_STEP_SHARE of the card (an H200 gets
    4,096-token steps; an 8-16 GiB card keeps 512, and the memory for better weights)."""
    if prefs.n_batch:
        return prefs
    fits = GPU_STEP_SHARE * gpu.memory_total_bytes / max(d.vocab_size * 4, 1)
    step = 512
    while step * 2 <= min(fits, GPU_STEP_TOKENS):
        step *= 2
    return replace(prefs, n_batch=step)


def placements(
    d: GgufDescription, hardware: Hardware, prefs: RouterPrefs, budget: Budget, device_pin: Device | None
) -> list[Candidate]:
    """The GPU placement (whole, else partial) and the CPU placement of one file."""
    out: list[Candidate] = []
    if budget.gpu is not None and device_pin != "cpu":
        cpu_prefs, prefs = prefs, gpu_prefs(d, prefs, budget.gpu)
        ranked = rank_on(d, "gpu", hardware, budget.gpu)
        whole = d.n_layers + 1
        est = estimate(d, prefs, whole)
        if est.gpu_bytes <= budget.gpu_bytes and est.ram_bytes <= budget.ram_bytes:
            out.append(_candidate(d, "gpu", whole, est, True, "fits the GPU whole", prefs, budget, ranked))
        elif (partial := _layers_fitting(d, prefs, budget)) is not None:
            layers, part = partial
            why = f"{layers}/{whole} layers fit the GPU; whole it {_needs(est, budget)}"
            out.append(_candidate(d, "gpu", layers, part, True, why, prefs, budget, ranked))
        else:
            out.append(
                _candidate(d, "gpu", whole, est, False, f"too big: {_needs(est, budget)}", prefs, budget, ranked)
            )
        prefs = cpu_prefs
    if device_pin != "gpu":
        ranked = rank_on(d, "cpu", hardware, None)
        est = estimate(d, prefs, 0)
        fits = est.ram_bytes <= budget.ram_bytes
        out.append(
            _candidate(
                d,
                "cpu",
                0,
                est,
                fits,
                "fits in RAM" if fits else f"too big: {_needs(est, budget)}",
                prefs,
                budget,
                ranked,
            )
        )
    return out


def _placement_class(c: Candidate) -> int:
    if c.device == "cpu":
        return 2
    if c.n_gpu_layers > c.description.n_layers:
        return 0
    return 1 if c.n_gpu_layers * 2 >= c.description.n_layers else 2


def order_key(c: Candidate) -> tuple[bool, bool, int, float, int, float, int]:
    bits = -round(c.description.bits_per_weight, 2)
    return (not c.fits, c.degraded, _placement_class(c), c.rank, -c.n_gpu_layers, bits, c.estimated_bytes)


def _matches(pin_quant: str, d: GgufDescription) -> bool:
    return d.quant.upper() == pin_quant or quants.family(d.quant) == pin_quant


def _check_pin(group: ModelGroup, pin: Pin, budget: Budget) -> None:
    if pin.quant is not None and not any(_matches(pin.quant, d) for d in group.variants):
        have = ", ".join(sorted({d.quant for d in group.variants}))
        raise RouterConfigError(
            f"pins.{group.model_id}", f"pin {pin}: {group.model_id} has no {pin.quant} file (it has {have})"
        )
    if pin.device == "gpu" and budget.gpu is None:
        raise RouterConfigError(f"pins.{group.model_id}", f"pin {pin}: no GPU that this llama.cpp build can use")


@dataclass
class _Draft:
    group: ModelGroup
    allowed: list[Candidate]
    excluded: list[Candidate]
    pin: Pin | None
    index: int = 0

    @property
    def fitting(self) -> list[Candidate]:
        return [c for c in self.allowed if c.fits]

    @property
    def current(self) -> Candidate:
        fitting = self.fitting
        if fitting:
            return fitting[min(self.index, len(fitting) - 1)]
        return min(self.allowed, key=lambda c: c.estimated_bytes)


def _draft(group: ModelGroup, hardware: Hardware, prefs: RouterPrefs, budget: Budget) -> _Draft:
    pin = prefs.pins.get(group.model_id)
    if pin is not None:
        _check_pin(group, pin, budget)
    allowed: list[Candidate] = []
    excluded: list[Candidate] = []
    for d in group.variants:
        cands = placements(d, hardware, prefs, budget, pin.device if pin else None)
        if pin is not None and pin.quant is not None and not _matches(pin.quant, d):
            excluded.extend(
                replace(c, fits=False, reason=f"excluded: {group.model_id} is pinned to {pin}") for c in cands
            )
        else:
            allowed.extend(cands)
    allowed.sort(key=order_key)
    excluded.sort(key=order_key)
    return _Draft(group, allowed, excluded, pin)


MAX_COMBINATIONS = 200_000
"""Beyond this many combinations of candidates, share memory greedily instead."""


def _fits_together(chosen: Sequence[Candidate], budget: Budget) -> bool:
    return budget.holds([c.estimate for c in chosen])


def share(drafts: Sequence[_Draft], budget: Budget) -> bool:
    """Give each model one of its fitting candidates so that all fit side by side.

    The best combination keeps the worst-off model as high on its own list as
    possible, then the sum of places low, then favours earlier models (embedding
    models sort before rerankers). Exhaustive, since a deployment has a handful of
    models; past MAX_COMBINATIONS the best-off model steps down one place at a time.
    Returns False when even the most modest candidates do not fit together.
    """
    if _fits_together([d.current for d in drafts], budget):
        return True
    movable = [d for d in drafts if d.fitting]
    fixed = [d.current for d in drafts if not d.fitting]
    if not movable:
        return False
    if math.prod(len(d.fitting) for d in movable) <= MAX_COMBINATIONS:
        best: tuple[int, int, tuple[int, ...]] | None = None
        for combo in itertools.product(*(range(len(d.fitting)) for d in movable)):
            key = (max(combo), sum(combo), combo)
            if (best is None or key < best) and _fits_together(
                fixed + [d.fitting[i] for d, i in zip(movable, combo, strict=True)], budget
            ):
                best = key
        for d, i in zip(movable, best[2] if best else [len(d.fitting) - 1 for d in movable], strict=True):
            d.index = i
        return best is not None
    while not _fits_together([d.current for d in drafts], budget):
        steppable = [d for d in movable if d.index < len(d.fitting) - 1]
        if not steppable:
            return False
        min(reversed(steppable), key=lambda d: d.index).index += 1
    return True


def _reason(
    draft: _Draft, chosen: Candidate, budget: Budget, hardware: Hardware, shared_ok: bool, others: list[str]
) -> str:
    d = chosen.description
    if not draft.fitting:
        why = f"nothing fits ({_needs(chosen.estimate, budget)}); trying the smallest candidate"
    elif chosen.device == "gpu" and chosen.n_gpu_layers > d.n_layers:
        why = "highest-fidelity file that fits the GPU whole"
    elif chosen.device == "gpu":
        why = f"nothing fits the GPU whole; {chosen.gpu_layers_text} layers offloaded, the rest on the CPU"
    elif budget.gpu is None:
        why = "highest-fidelity file that fits in RAM (" + _no_gpu(hardware) + ")"
    else:
        why = "highest-fidelity file that fits in RAM (no file fits the GPU, even partly)"
    parts = [f"{chosen.label()}: {why}"]
    if draft.pin is not None:
        parts.append(f"pinned by operator to {draft.pin}")
    if draft.index and draft.fitting:
        parts.append(f"stepped down {draft.index} place(s) to share memory with {', '.join(others)}")
    if not shared_ok:
        parts.append("the models do not fit side by side even at their smallest")
    if chosen.degraded:
        parts.append(f"DEGRADED: only a {d.quant} file fits ({d.bits_per_weight:.2f} bits/weight)")
    rank_note = rank_on(d, chosen.device, hardware, budget.gpu).note
    if rank_note:
        parts.append(rank_note)
    elif quants.family(d.quant) == "BF16":
        parts.append("BF16 runs natively here")
    return "; ".join(parts)


def _no_gpu(hardware: Hardware) -> str:
    if hardware.gpus and not hardware.llama_gpu_offload:
        return "GPU present, but this llama.cpp build is CPU-only"
    return "no GPU"


def _finish(draft: _Draft, budget: Budget, hardware: Hardware, shared_ok: bool, others: list[str]) -> ModelPlan:
    chosen = draft.current
    fitting = draft.fitting
    position = fitting.index(chosen) if chosen in fitting else -1
    after = fitting[position + 1 :] if position >= 0 else []
    before = [
        replace(c, fits=False, reason=f"fits alone, not next to {', '.join(others)}")
        for c in fitting[: max(position, 0)]
    ]
    rest = [c for c in draft.allowed if not c.fits and c is not chosen]
    verdict = "chosen" if chosen.fits else "chosen although it does not fit"
    head = replace(chosen, reason=f"{verdict}: {chosen.reason}")
    fallbacks = [replace(c, reason=f"fallback: {c.reason}") for c in after]
    degraded = chosen.degraded or not draft.fitting or not shared_ok
    pin = draft.pin
    refusal = (
        pin.refusal(draft.group.model_id, chosen.label(), _needs(chosen.estimate, budget))
        if pin is not None and pin.strict and not draft.fitting
        else ""
    )
    return ModelPlan(
        model_id=draft.group.model_id,
        kind=draft.group.kind,
        candidates=(head, *fallbacks, *before, *rest, *draft.excluded),
        reason=_reason(draft, chosen, budget, hardware, shared_ok, others),
        degraded=degraded,
        hardware=hardware,
        budget=budget,
        refusal=refusal,
    )


def _with_overrides(catalog: Catalog, prefs: RouterPrefs) -> Catalog:
    """The catalog as the engine will load it: with the operator's pooling overrides applied."""
    unknown = set(prefs.pooling) - {g.model_id for g in catalog.models}
    if unknown:
        have = ", ".join(g.model_id for g in catalog.models) or "none"
        raise RouterConfigError(
            "pooling", f"pooling names unknown models: {', '.join(sorted(unknown))} (models found: {have})"
        )
    groups = tuple(
        replace(g, variants=tuple(with_pooling(d, prefs.pooling.get(g.model_id)) for d in g.variants))
        for g in catalog.models
    )
    return replace(catalog, models=groups)


def plan(catalog: Catalog, hardware: Hardware, prefs: RouterPrefs) -> list[ModelPlan]:
    """One plan per model in the catalog, sharing one memory budget: files first, then each
    chosen model's context grown into the memory left (router/context.py)."""
    budget = make_budget(hardware, prefs)
    catalog = _with_overrides(catalog, prefs)
    unknown = set(prefs.pins) - {g.model_id for g in catalog.models}
    if unknown:
        have = ", ".join(g.model_id for g in catalog.models) or "none"
        raise RouterConfigError("pins", f"pins name unknown models: {', '.join(sorted(unknown))} (models found: {have})")
    drafts = [_draft(g, hardware, prefs, budget) for g in catalog.models]
    shared_ok = share(drafts, budget)
    plans = []
    for draft in drafts:
        others = [d.group.model_id for d in drafts if d is not draft]
        plans.append(
            replace(
                _finish(draft, budget, hardware, shared_ok, others), unreadable=catalog.unreadable_near(draft.group)
            )
        )
    return grow(plans, prefs)


__all__ = ["make_budget", "order_key", "placements", "plan", "rank_on"]
