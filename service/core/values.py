"""Value types the engine and its callers exchange: what a request asks for, what it gets back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

InputType = Literal["query", "document"]

Vector = npt.NDArray[np.float32]

MIN_DIMENSIONS = 32
"""The smallest Matryoshka cut: Qwen3-Embedding is trained for cuts from 32 up to its hidden size."""


@dataclass(frozen=True)
class PreparedInput:
    """Tokens ready for the engine, plus what the caller needs to report."""

    tokens: list[int]
    n_user_tokens: int
    truncated: bool
    full_length: int = 0
    """The prompt's length before any truncation (template included); what Tokenize reports."""
    n_shared: int = 0
    """Leading tokens other prompts of the same template may share (the instruction, a rerank's
    query): the engine may decode them once for all (0: none)."""


@dataclass(frozen=True)
class EmbedOptions:
    input_type: InputType = "document"
    instruction: str | None = None
    dimensions: int | None = None
    normalize: bool = True
    truncate: bool = False


ChunkingMode = Literal["none", "mean", "chunks"]
CHUNKING_MODES: tuple[ChunkingMode, ...] = ("none", "mean", "chunks")


@dataclass(frozen=True)
class Chunking:
    """How an input longer than one sequence is embedded (issue #31): `none` refuses or truncates it,
    `mean` embeds windows of it and answers their token-weighted mean, `chunks` answers that mean and
    every window's own vector with the characters it covers."""

    mode: ChunkingMode = "none"
    size: int = 0
    """Input tokens per chunk (template not counted); 0 = as many as one sequence of the model holds."""
    overlap: int = 0
    """Tokens each chunk shares with the one before it; less than `size`."""


@dataclass(frozen=True)
class ChunkVector:
    """One chunk's vector, and the characters [start, end) of the input it covers (code points)."""

    vector: Vector
    n_tokens: int
    start: int
    end: int


@dataclass(frozen=True)
class Embedding:
    vector: Vector
    n_tokens: int
    truncated: bool
    chunks: tuple[ChunkVector, ...] = ()
    """With chunking `chunks`: each chunk's vector, in input order; `vector` is their mean."""


@dataclass(frozen=True)
class TokenVectors:
    """Every token's vector of one input (TEI's `/embed_all`): the model's final hidden states, one
    row per token of the prompt the model saw (template and special tokens included), in order."""

    vectors: npt.NDArray[np.float32]
    """Shape (n_tokens, dimensions)."""
    token_ids: list[int]
    truncated: bool

    @property
    def n_tokens(self) -> int:
        return len(self.token_ids)


@dataclass(frozen=True)
class SparseWeights:
    """BGE-M3's lexical weights of one input: for each vocabulary id in it, the largest weight any of its
    occurrences got (ReLU of the sparse head on its final hidden state); special tokens and zero
    weights are left out, ids ascending."""

    token_ids: list[int]
    weights: npt.NDArray[np.float32]
    n_tokens: int
    """Tokens the model saw (the prompt's, special tokens included)."""
    truncated: bool


@dataclass(frozen=True)
class MultiOutput:
    """What one decode of an input gave, each output only where it was asked for."""

    dense: Embedding | None
    sparse: SparseWeights | None
    colbert: TokenVectors | None


@dataclass(frozen=True)
class RerankScore:
    index: int
    score: float
    n_tokens: int
    truncated: bool
