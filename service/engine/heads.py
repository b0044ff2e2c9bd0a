"""BGE-M3's three outputs from one sequence's final hidden states (one decode, the tap's rows).

As the paper (Chen et al. 2024, "BGE M3-Embedding") and its reference implementation define them:
- dense: the [CLS] (`<s>`) state, normalised;
- sparse (lexical weights): ReLU of the sparse head (Linear(hidden, 1)) on each token's state; a
  vocabulary id seen several times keeps its largest weight; `<s>`, `</s>`, `<pad>` and `<unk>`
  (the control and unknown tokens) are left out, and so are zero weights;
- ColBERT: the ColBERT head (Linear(hidden, n)) on every state after [CLS], `</s>` included, each
  row normalised.
The heads come from the GGUF's metadata (router/heads.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from router.heads import Linear, read_head
from router.types import GgufDescription

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Heads:
    sparse: Linear | None = None
    colbert: Linear | None = None


def load_heads(path: Path, description: GgufDescription) -> Heads:
    """The heads the file carries (none for an ordinary embedding model)."""
    hidden = description.hidden_size
    return Heads(
        sparse=read_head(path, "sparse", hidden) if "sparse" in description.outputs else None,
        colbert=read_head(path, "colbert", hidden) if "colbert" in description.outputs else None,
    )


def lexical_weights(
    head: Linear, states: F32, tokens: Sequence[int], skip: Callable[[int], bool]
) -> tuple[list[int], F32]:
    """(ids ascending, their weights): the largest ReLU(head(state)) per id, special tokens and zeros left out."""
    weights = np.maximum(head(states)[:, 0], 0.0)
    best: dict[int, float] = {}
    for token, weight in zip(tokens, weights.tolist(), strict=True):
        if weight > 0.0 and not skip(token) and weight > best.get(token, 0.0):
            best[token] = weight
    ids = sorted(best)
    return ids, np.array([best[i] for i in ids], dtype=np.float32)


def colbert_rows(head: Linear, states: F32) -> F32:
    """The ColBERT head on every state after [CLS] (not yet normalised: the caller's options decide)."""
    return head(states[1:])
