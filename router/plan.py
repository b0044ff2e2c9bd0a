"""What the router hands the server: preferences in, one ModelPlan per model out.

A plan carries everything needed to explain it without re-running the router (the
hardware it saw, every candidate with its estimate and whether it fits, the choice and
why), because the same decision is shown by `embedroute route`, ModelService.GetModel,
the start-up log and a Prometheus info metric.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import dataclasses
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from router.errors import RouterConfigError
from router.hardware import GpuInfo, Hardware, format_bytes
from router.types import EngineLayout, EngineSettings, GgufDescription, PoolingChoice, engine_layout

Device = Literal["cpu", "gpu"]

DEFAULTS = EngineSettings()


@dataclass(frozen=True)
class Pin:
    """An operator's override for one model: a quant (or quant family) and/or a device."""

    quant: str | None = None
    device: Device | None = None
    strict: bool = False
    """A consistency pin (`--consistent`): the quant or nothing, so that every replica of a fleet
    serves one vector space; where it does not fit, the model is not loaded at all."""

    @classmethod
    def consistent(cls, text: str) -> Pin:
        """`QUANT`: the quant every replica serves, whatever device it finds."""
        pin = cls.parse(text)
        if pin.quant is None or pin.device is not None:
            raise RouterConfigError("consistent", f"consistent {text!r}: expected a quant (e.g. Q8_0), no device")
        return replace(pin, strict=True)

    @classmethod
    def parse(cls, text: str) -> Pin:
        """`QUANT[@DEVICE]`, `@DEVICE` or `QUANT`: "Q8_0@cpu", "@gpu", "Q4_K_M"."""
        quant, _, device = text.strip().partition("@")
        device = device.strip().lower()
        if device not in ("", "cpu", "gpu"):
            raise RouterConfigError("pins", f"pin {text!r}: device must be cpu or gpu, not {device!r}")
        if not quant.strip() and not device:
            raise RouterConfigError("pins", f"pin {text!r}: expected QUANT[@DEVICE] or @DEVICE")
        return cls(
            quant=quant.strip().upper() or None,
            device="gpu" if device == "gpu" else "cpu" if device == "cpu" else None,
        )

    def __str__(self) -> str:
        return f"{self.quant or ''}{'@' + self.device if self.device else ''}"

    def refusal(self, model_id: str, label: str, needs: str) -> str:
        """Why a strict pin's model is not loaded on this node."""
        return (
            f"consistent: {model_id} must be {self.quant} on every replica (one vector space), and "
            f"{label} does not fit here ({needs}); no other file is loaded"
        )


def merge_consistent(pins: dict[str, Pin], consistent: dict[str, str]) -> dict[str, Pin]:
    """The operator's pins with each consistency setting added as a strict pin (a model may have one
    or the other: a pin picks a file for this node, consistency one for the whole fleet)."""
    both = sorted(set(pins) & set(consistent))
    if both:
        raise RouterConfigError("consistent", f"{', '.join(both)}: both pinned and consistent; use one of the two")
    return pins | {model: Pin.consistent(quant) for model, quant in consistent.items()}


@dataclass(frozen=True)
class RouterPrefs:
    """How models will be loaded (the estimate depends on it) and what the operator allows.

    The context fields mirror EngineSettings, whose defaults they share, so that the
    memory the router budgets is the memory the engine then allocates.
    """

    n_ctx: int = DEFAULTS.n_ctx
    """Tokens per sequence; 0 = the file's trained context where memory allows (router/context.py),
    files being chosen at min(trained, `max_ctx`)."""
    max_ctx: int = DEFAULTS.max_ctx
    """The base context: what files are chosen at, and every model gets where its file allows."""
    n_batch: int = DEFAULTS.n_batch
    """Tokens per decode step; 0 = by placement (EngineSettings.step_tokens)."""
    n_seq_max: int = DEFAULTS.n_seq_max
    """Sequences per step; 0 = by placement (router.types.engine_layout)."""
    flash_attn: bool | None = DEFAULTS.flash_attn
    """None = by placement: on with layers on a GPU."""
    headroom_fraction: float = 0.10
    """Share of each memory pool (RAM, GPU) never planned for: fragmentation, the
    runtime's own allocations, other processes that grow after we measured."""
    headroom_bytes: int = 512 * 1024**2
    """Floor of the headroom; on small pools a fraction alone leaves too little."""
    pins: Mapping[str, Pin] = field(default_factory=dict)
    max_threads: int = 0
    """0 = what the CPU quota allows; otherwise at most this many threads per model."""
    pooling: Mapping[str, PoolingChoice] = field(default_factory=dict)
    """Per-model pooling overrides; the estimate and the engine both follow them."""
    share_prefixes: bool = DEFAULTS.share_prefixes
    prefix_cache_cells: int = DEFAULTS.prefix_cache_cells
    """Passed through to EngineSettings: they use the KV cells budgeted already."""

    def __post_init__(self) -> None:
        for name, value in (
            ("ctx", self.n_ctx),
            ("threads", self.max_threads),
            ("step_tokens", self.n_batch),
            ("max_sequences", self.n_seq_max),
        ):
            if value < 0:
                raise RouterConfigError(name, f"must be at least 0, got {value}")
        if not 0 <= self.headroom_fraction < 1:
            raise RouterConfigError("headroom", f"must be in [0, 1), got {self.headroom_fraction}")

    def headroom(self, capacity: int) -> int:
        return max(int(self.headroom_fraction * capacity), self.headroom_bytes)

    def context_for(self, description: GgufDescription) -> int:
        """Tokens per sequence files are chosen at; router/context.py may then grow it."""
        trained = description.context_length or self.max_ctx
        return self.n_ctx or min(trained, self.max_ctx)

    def engine_settings(
        self, description: GgufDescription, n_threads: int, n_gpu_layers: int, main_gpu: int | None
    ) -> EngineSettings:
        extra = {} if main_gpu is None else {"main_gpu": str(main_gpu), "split_mode": "none"}
        return EngineSettings(
            n_ctx=self.context_for(description),
            max_ctx=self.max_ctx,
            n_batch=self.n_batch,
            n_seq_max=self.n_seq_max,
            n_threads=n_threads,
            n_gpu_layers=n_gpu_layers,
            flash_attn=self.flash_attn,
            extra=extra,
            pooling=self.pooling.get(description.model_id),
            share_prefixes=self.share_prefixes,
            prefix_cache_cells=self.prefix_cache_cells,
        )


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes one model needs, split by pool; see router/estimate.py for the formula."""

    weights_bytes: int
    kv_bytes: int
    compute_bytes: int
    output_bytes: int
    overhead_bytes: int
    gpu_bytes: int
    ram_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.gpu_bytes + self.ram_bytes

    def to_dict(self) -> dict[str, int]:
        return {
            "weights_bytes": self.weights_bytes,
            "kv_bytes": self.kv_bytes,
            "compute_bytes": self.compute_bytes,
            "output_bytes": self.output_bytes,
            "overhead_bytes": self.overhead_bytes,
            "gpu_bytes": self.gpu_bytes,
            "ram_bytes": self.ram_bytes,
            "total_bytes": self.total_bytes,
        }


@dataclass(frozen=True)
class Budget:
    """Memory the plans may use, after headroom; shared by all models."""

    ram_bytes: int
    ram_headroom_bytes: int
    gpu: GpuInfo | None
    gpu_bytes: int
    gpu_headroom_bytes: int
    threads: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "ram_bytes": self.ram_bytes,
            "ram_headroom_bytes": self.ram_headroom_bytes,
            "gpu_index": None if self.gpu is None else self.gpu.index,
            "gpu_bytes": self.gpu_bytes,
            "gpu_headroom_bytes": self.gpu_headroom_bytes,
            "threads": self.threads,
        }

    def holds(self, estimates: Sequence[MemoryEstimate]) -> bool:
        """Whether models needing these estimates fit side by side, RAM and GPU each."""
        return sum(e.ram_bytes for e in estimates) <= self.ram_bytes and sum(
            e.gpu_bytes for e in estimates
        ) <= self.gpu_bytes

    def summary(self) -> str:
        text = f"RAM {format_bytes(self.ram_bytes)} (after {format_bytes(self.ram_headroom_bytes)} headroom)"
        if self.gpu is not None:
            headroom = format_bytes(self.gpu_headroom_bytes)
            text += f", GPU {self.gpu.index} {format_bytes(self.gpu_bytes)} (after {headroom} headroom)"
        return text + f", {self.threads} threads"


@dataclass(frozen=True)
class Candidate:
    """One way to load one file: on which device, with how many layers offloaded."""

    description: GgufDescription
    device: Device
    n_gpu_layers: int
    n_threads: int
    estimated_bytes: int
    fits: bool
    reason: str
    estimate: MemoryEstimate
    settings: EngineSettings
    """Exactly what to pass to `service.engine.load_model(description.path, settings)`."""
    rank: float
    """Fidelity rank on this device (lower is better); see router/quants.py."""
    degraded: bool = False

    @property
    def gpu_layers_text(self) -> str:
        total = self.description.n_layers + 1
        return f"{min(self.n_gpu_layers, total)}/{total}"

    @property
    def layout(self) -> EngineLayout:
        """How the engine lays its context out on this placement (cells padded as llama.cpp pads them)."""
        return engine_layout(self.settings, -(-self.settings.n_ctx // 256) * 256)

    def label(self) -> str:
        where = "cpu" if self.device == "cpu" else f"gpu {self.gpu_layers_text} layers"
        return f"{self.description.quant} ({self.description.path.name}) on {where}"

    def to_dict(self) -> dict[str, Any]:
        d = self.description
        return {
            "path": str(d.path),
            "file": d.path.name,
            "quant": d.quant,
            "bits_per_weight": round(d.bits_per_weight, 3),
            "file_size": d.file_size,
            "device": self.device,
            "n_gpu_layers": self.n_gpu_layers,
            "n_threads": self.n_threads,
            "estimated_bytes": self.estimated_bytes,
            "estimate": self.estimate.to_dict(),
            "fits": self.fits,
            "degraded": self.degraded,
            "rank": self.rank,
            "reason": self.reason,
            "layout": dataclasses.asdict(self.layout),
        }


@dataclass(frozen=True)
class UnreadableFile:
    """A .gguf that could not be described; shown in explanations, never loaded."""

    path: Path
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": str(self.path), "status": "unreadable", "reason": self.reason}


@dataclass(frozen=True)
class ContextChoice:
    """Tokens one sequence of a model may hold, with why (router/context.py decides)."""

    tokens: int
    trained: int
    """The file's trained context (0: it names none)."""
    reason: str

    def to_dict(self) -> dict[str, int | str]:
        return {"tokens": self.tokens, "trained": self.trained, "reason": self.reason}


@dataclass(frozen=True)
class ModelPlan:
    model_id: str
    kind: str
    candidates: tuple[Candidate, ...]
    """Best first: `candidates[0]` is the choice; on a load failure try `load_order`."""
    reason: str
    degraded: bool
    hardware: Hardware
    budget: Budget
    unreadable: tuple[UnreadableFile, ...] = ()
    """Unreadable files next to this model's files (their identity is unknown)."""
    refusal: str = ""
    """Set when a consistency pin does not fit: the model must not be loaded, and this says why."""
    context: ContextChoice | None = None
    """The chosen candidate's context and why; None only on plans built without router.policy.plan."""

    @property
    def chosen(self) -> Candidate:
        return self.candidates[0]

    @property
    def load_order(self) -> tuple[Candidate, ...]:
        """The choice, then every later candidate that fits: the fallback sequence."""
        return (self.chosen, *(c for c in self.candidates[1:] if c.fits))

    @property
    def hardware_summary(self) -> str:
        return self.hardware.summary()

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "kind": self.kind,
            "chosen": self.chosen.to_dict(),
            "reason": self.reason,
            "degraded": self.degraded,
            "candidates": [c.to_dict() for c in self.candidates],
            "unreadable": [u.to_dict() for u in self.unreadable],
            "budget": self.budget.to_dict(),
            "hardware": self.hardware.to_dict(),
            "pooling": self.chosen.description.pooling_note,
            "outputs": list(self.chosen.description.outputs),
            "refusal": self.refusal,
            "context": None if self.context is None else self.context.to_dict(),
        }
