"""What the router reads and decides: a GGUF file's description and how a model is loaded.

Here, not in the service, so that the router imports nothing of the service (the service
imports the router): the engine loads what these settings say, the application serves it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

ModelKind = Literal["embedding", "reranker"]
Pooling = Literal["none", "mean", "cls", "last", "rank"]
PoolingChoice = Literal["mean", "cls", "last"]
"""What an operator may set per model (`--pooling MODEL=last|mean|cls`)."""
PoolingSource = Literal["file", "inferred", "override"]
"""Where a description's pooling came from: the file's `{arch}.pooling_type`, the architecture
(the file names none), or the operator's per-model override."""


@dataclass(frozen=True)
class GgufDescription:
    """What a GGUF file is, read from its own metadata (never from its file name)."""

    path: Path
    architecture: str
    name: str
    kind: ModelKind
    hidden_size: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    ffn_size: int
    vocab_size: int
    context_length: int
    pooling: Pooling
    file_type: int
    quant: str
    has_cls_output: bool
    file_size: int
    n_params: int
    bits_per_weight: float
    identity: str
    """Groups the quantisations of one model: same weights' shapes and name."""
    model_id: str
    """The catalog id clients pass as `model` (a slug of the model name, never a path)."""
    pooling_source: PoolingSource = "file"
    file_pooling: Pooling = "none"
    """What the file itself says (`none` when it names no pooling type)."""
    outputs: tuple[str, ...] = ("dense",)
    """What an embedding model gives from one decode: dense vectors always; `sparse` and `colbert`
    where the file carries BGE-M3's heads (router/heads.py)."""
    head_bytes: int = 0
    """Bytes those heads take in memory (float32, outside llama.cpp)."""
    colbert_dim: int = 0
    """Length of a ColBERT vector (0: no ColBERT head)."""

    @property
    def pooling_inferred(self) -> bool:
        return self.pooling_source == "inferred"

    @property
    def pooling_note(self) -> str:
        """The pooling in use and where it came from, as logs and `embedroute route` show it."""
        if self.pooling_source == "inferred":
            return f"{self.pooling} (inferred: the file names none)"
        if self.pooling_source == "override":
            return f"{self.pooling} (operator override; the file says {self.file_pooling})"
        return self.pooling


_STEP_ALIGN = 32
CPU_STEP_TOKENS = 128
"""Measured on the 0.6B shape (2 cores, docs/engine-tuning.md): 128-token steps ran 5-25 % faster
than 64 for BF16, Q8_0 and IQ3_M and level for Q4_K_M; one 512-token decode was slower."""
CPU_QUERY_STEP_TOKENS = 64
"""The step on a CPU while queries are about (QUERY_WINDOW_S): a query that arrives mid-step waits
for the rest of it, and 64 tokens take about 0.3 s on the 0.6B shape where 128 take 0.6 s."""
QUERY_WINDOW_S = 5.0
"""How long after a query steps stay query-sized: the next query is likely to come soon."""
GPU_STEP_TOKENS = 4096
"""A GPU needs long decodes to fill its cores; each step is milliseconds there (docs/engine-tuning.md
section 10: H200 tokens/s by step length)."""
CPU_SEQUENCES = 16
"""Sequences one CPU step may hold: a 128-token step rarely has room for more (section 10)."""
GPU_SEQUENCES = 256
"""llama.cpp's most (LLAMA_MAX_SEQ): a 4,096-token GPU step holds 33 documents of 123 tokens, and 16
sequences had capped the H200's steps at about 2,000 tokens whatever their length."""

Device = Literal["cpu", "gpu"]
LoadMode = Literal["read", "mmap"]


@dataclass(frozen=True)
class EngineSettings:
    """How one model is loaded; the router fills these from the hardware it saw."""

    n_ctx: int = 0
    """0 means the model's own context length, capped by `max_ctx`."""
    max_ctx: int = 8192
    n_batch: int = 0
    """Tokens per llama_decode, one step of the Stepper (service/engine/stepper.py); 0 = by
    placement, `CPU_STEP_TOKENS` or, with layers on a GPU, `GPU_STEP_TOKENS`. Long documents
    are split over steps, so a step's length bounds how long a query waits behind them: on a
    CPU, steps shrink to `query_step_tokens` while queries are about."""
    n_seq_max: int = 0
    """Sequences one step may hold; 0 = by placement (`CPU_SEQUENCES`, `GPU_SEQUENCES`)."""
    n_threads: int = 0
    """0 means the CPU quota the process really has."""
    n_gpu_layers: int = 0
    flash_attn: bool | None = None
    """None = by placement: on with layers on a GPU, off on a CPU (docs/engine-tuning.md section 10)."""
    extra: dict[str, str] = field(default_factory=dict)
    pooling: PoolingChoice | None = None
    """The operator's per-model pooling override; None = the file's, or inferred from its architecture."""
    share_prefixes: bool = True
    """Decode the prefix that prompts share (rerank's query, queries' instruction) once."""
    prefix_cache_cells: int = 256
    """KV cells of shared prefixes kept after their last user, for the next request (0 = none)."""

    @property
    def device(self) -> Device:
        return "gpu" if self.n_gpu_layers > 0 else "cpu"


@dataclass(frozen=True)
class EngineLayout:
    """The context a model runs in on its device, as the router chose it and ModelService reports it."""

    device: Device
    step_tokens: int
    """Tokens per decode while only documents come."""
    query_step_tokens: int
    """Tokens per decode while queries are about."""
    n_seq_max: int
    flash_attn: bool
    load_mode: LoadMode
    """`read` copies the weights into llama.cpp's buffers (no mapping left resident beside repacked
    CPU weights); `mmap` is what a GPU placement needs: reading crashed llama.cpp there."""
    kv: str = "unified"
    """One KV cache for every sequence: what lets a shared prefix's cells serve all its users."""

    def summary(self) -> str:
        return (
            f"{self.step_tokens}-token steps ({self.query_step_tokens} with queries), {self.n_seq_max} sequences, "
            f"flash attention {'on' if self.flash_attn else 'off'}, {self.kv} KV, {self.load_mode}"
        )


def step_tokens(settings: EngineSettings, n_ctx: int) -> int:
    """Tokens per decode of a causal model: a multiple of 32 (another micro-batch size aborts
    llama.cpp), at most the context. The router's estimate sizes buffers from the same number."""
    wanted = settings.n_batch or (GPU_STEP_TOKENS if settings.device == "gpu" else CPU_STEP_TOKENS)
    return min(-(-wanted // _STEP_ALIGN) * _STEP_ALIGN, n_ctx)


def query_step_tokens(settings: EngineSettings, step: int) -> int:
    """Tokens per decode while queries are about: on a GPU the step itself (milliseconds long),
    on a CPU at most `CPU_QUERY_STEP_TOKENS`, since each step is what the next query may wait for."""
    return step if settings.device == "gpu" else min(step, CPU_QUERY_STEP_TOKENS)


def engine_layout(settings: EngineSettings, n_ctx: int) -> EngineLayout:
    """The layout for the settings' device; the engine loads with it and the router's estimate
    sizes memory by it, so the two cannot drift apart."""
    gpu = settings.device == "gpu"
    step = step_tokens(settings, n_ctx)
    return EngineLayout(
        device=settings.device,
        step_tokens=step,
        query_step_tokens=query_step_tokens(settings, step),
        n_seq_max=settings.n_seq_max or (GPU_SEQUENCES if gpu else CPU_SEQUENCES),
        flash_attn=gpu if settings.flash_attn is None else settings.flash_attn,
        load_mode="mmap" if gpu else "read",
    )
