"""Value types shared by the engine and its callers (scheduler, servicers, router)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

ModelKind = Literal["embedding", "reranker"]
Pooling = Literal["none", "mean", "cls", "last", "rank"]
InputType = Literal["query", "document"]

Vector = npt.NDArray[np.float32]


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


@dataclass(frozen=True)
class PreparedInput:
    """Tokens ready for the engine, plus what the caller needs to report."""

    tokens: list[int]
    n_user_tokens: int
    truncated: bool


@dataclass(frozen=True)
class EmbedOptions:
    input_type: InputType = "document"
    instruction: str | None = None
    dimensions: int | None = None
    normalize: bool = True
    truncate: bool = False


@dataclass(frozen=True)
class Embedding:
    vector: Vector
    n_tokens: int
    truncated: bool


@dataclass(frozen=True)
class RerankScore:
    index: int
    score: float
    n_tokens: int
    truncated: bool


@dataclass(frozen=True)
class EngineSettings:
    """How one model is loaded; the router fills these from the hardware it saw."""

    n_ctx: int = 0
    """0 means the model's own context length, capped by `max_ctx`."""
    max_ctx: int = 8192
    n_batch: int = 512
    """Tokens packed into one llama_decode call; a longer sequence gets a call of its own.
    Packed sequences attend over each other's cells (masked out), which costs more as
    the call grows, so this stays near one micro-batch."""
    n_ubatch: int = 512
    """Tokens per micro-batch of causal models; it sizes the compute buffer. Encoders
    (BERT) see a whole sequence in one micro-batch, so for them it is the context."""
    n_seq_max: int = 16
    n_threads: int = 0
    """0 means the CPU quota the process really has."""
    n_gpu_layers: int = 0
    flash_attn: bool = False
    extra: dict[str, str] = field(default_factory=dict)
