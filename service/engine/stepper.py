"""Continuous batching over one llama.cpp context: sequences join and leave between decodes.

Each decode (a *step*) takes at most `step_tokens` tokens. A causal sequence longer than
what is left of a step is split (chunked prefill): its first piece runs now, its KV cells
stay in its slot, and the rest follows in later steps. So one step is short whatever the
documents' lengths, and an urgent sequence (a query) that arrives mid-document waits for
one step, not for the document. Measured on the 0.6B shape, Q4_K_M, 2 cores: steps of
32-128 tokens ran 190-230 tok/s against 157-174 for one 512-token decode, because packed
sequences attend over each other's cells (masked) and that cost grows with the decode.

The step's length trades throughput for query latency: on a CPU some weight types run
128-token steps 15-25 % faster than 64-token ones, but a query waits for twice as long. So
steps are `step_tokens` long while only documents come, and `query_step_tokens` long for
`query_window_s` after an urgent sequence arrived, when the next query is likely to come
while documents are in flight.

Order within a step: urgent sequences, then sequences already started (finishing them
frees their cells and their callers), then waiting ones in arrival order. On a CPU a
decode costs about the same per token whatever its size, so a step with urgent work
carries nothing else (`urgent_alone`): filled up with document tokens it would take the
full step's time, and the query would wait for them. On a GPU a step is milliseconds
and the spare room is better filled. A sequence
starts only when a slot is free and its whole length fits in the free KV cells, so every
started sequence can finish. Encoders see each sequence whole: theirs are never split.

Not thread-safe: one thread at a time (the model's worker).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from itertools import count
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from service.engine.llama_backend import LlamaRuntime, Piece
from service.core.errors import EngineError

K = TypeVar("K", bound=Hashable)


@dataclass(eq=False)
class _Sequence(Generic[K]):
    key: K
    tokens: Sequence[int]
    urgent: bool
    order: int
    done: int = 0
    """Tokens already decoded into the sequence's slot."""
    slot: int = -1

    @property
    def started(self) -> bool:
        return self.slot >= 0


@dataclass(frozen=True)
class Step(Generic[K]):
    """What one decode did."""

    finished: list[tuple[K, npt.NDArray[np.float32]]]
    """The sequences that ended in this decode, with their output rows."""
    keys: list[K]
    """Every sequence that had tokens in this decode."""
    n_tokens: int


@dataclass
class Stepper(Generic[K]):
    runtime: LlamaRuntime
    step_tokens: int
    """Tokens per decode while no query is about (at most the context's n_batch)."""
    logit_ids: Sequence[int] = ()
    """For a context with neither pooling nor the tap: the logits each finished sequence reports."""
    urgent_alone: bool = True
    query_step_tokens: int = 0
    """Tokens per decode within `query_window_s` of an urgent sequence's arrival; 0 = `step_tokens`."""
    query_window_s: float = 0.0
    clock: Callable[[], float] = time.monotonic
    _last_urgent: float = -math.inf
    _waiting: list[_Sequence[K]] = field(default_factory=list)
    _running: list[_Sequence[K]] = field(default_factory=list)
    _free_slots: list[int] = field(default_factory=list)
    _free_cells: int = 0
    _waiting_tokens: int = 0
    """Kept as sequences come and go: the worker asks before every admission."""
    _order: count[int] = field(default_factory=count)

    def __post_init__(self) -> None:
        self.step_tokens = max(1, min(self.step_tokens, self.runtime.n_batch))
        self.query_step_tokens = min(self.query_step_tokens or self.step_tokens, self.step_tokens)
        self._free_slots = list(range(self.runtime.n_seq_max))
        self._free_cells = self.runtime.n_ctx

    @property
    def busy(self) -> bool:
        return bool(self._waiting or self._running)

    @property
    def waiting_tokens(self) -> int:
        """Tokens of sequences not started yet: what the next steps can draw on."""
        return self._waiting_tokens

    @property
    def next_step_tokens(self) -> int:
        """The next decode's budget: query-sized while a query came recently."""
        recent = self.clock() - self._last_urgent < self.query_window_s
        return self.query_step_tokens if recent else self.step_tokens

    def add(self, key: K, tokens: Sequence[int], *, urgent: bool = False) -> None:
        if not 0 < len(tokens) <= self.runtime.n_ctx:
            raise EngineError(f"sequence of {len(tokens)} tokens does not fit a context of {self.runtime.n_ctx}")
        if not self.runtime.splits_sequences and len(tokens) > self.runtime.n_batch:
            raise EngineError(f"sequence of {len(tokens)} tokens does not fit a decode of {self.runtime.n_batch}")
        self._waiting.append(_Sequence(key, tokens, urgent, next(self._order)))
        if urgent:
            self._last_urgent = self.clock()
        self._waiting_tokens += len(tokens)

    def drop(self, gone: Callable[[K], bool]) -> None:
        """Forgets the sequences whose caller has gone, started or not, freeing their cells."""
        self._waiting = [seq for seq in self._waiting if not gone(seq.key)]
        self._waiting_tokens = sum(len(seq.tokens) for seq in self._waiting)
        for seq in [seq for seq in self._running if gone(seq.key)]:
            self._finish(seq)

    def reset(self) -> None:
        """Forgets everything, after a failed decode left the cells in an unknown state."""
        self._waiting.clear()
        self._waiting_tokens = 0
        for seq in list(self._running):
            self._finish(seq)
        self.runtime.clear()

    def step(self) -> Step[K]:
        """Runs one decode over the next pieces; an empty Step when nothing is left."""
        pieces: list[tuple[_Sequence[K], Piece]] = []
        budget = self.next_step_tokens
        for seq in self._plan_order():
            if budget <= 0 or (self.urgent_alone and pieces and pieces[0][0].urgent and not seq.urgent):
                break
            remaining = len(seq.tokens) - seq.done
            if not self.runtime.splits_sequences and remaining > budget and pieces:
                continue  # whole or not at all; a sequence longer than a step gets a step of its own
            if not seq.started and not self._start(seq):
                if not seq.urgent:
                    break  # later arrivals must not overtake one that waits for cells
                continue
            take = remaining if not self.runtime.splits_sequences else min(remaining, budget)
            end = seq.done + take
            pieces.append((seq, Piece(seq.slot, seq.tokens[seq.done : end], seq.done, end == len(seq.tokens))))
            budget -= take
        if not pieces:
            return Step([], [], 0)
        rows = self.runtime.decode([piece for _, piece in pieces], self.logit_ids)
        finished: list[tuple[K, npt.NDArray[np.float32]]] = []
        for seq, piece in pieces:
            seq.done += len(piece.tokens)
            if piece.last:
                finished.append((seq.key, rows[len(finished)]))
                self._finish(seq)
        return Step(finished, [seq.key for seq, _ in pieces], sum(len(piece.tokens) for _, piece in pieces))

    def _plan_order(self) -> list[_Sequence[K]]:
        return sorted(self._running + self._waiting, key=lambda seq: (not seq.urgent, not seq.started, seq.order))

    def _start(self, seq: _Sequence[K]) -> bool:
        if not self._free_slots or len(seq.tokens) > self._free_cells:
            return False
        self._waiting.remove(seq)
        self._waiting_tokens -= len(seq.tokens)
        seq.slot = self._free_slots.pop()
        self._free_cells -= len(seq.tokens)
        self._running.append(seq)
        return True

    def _finish(self, seq: _Sequence[K]) -> None:
        self._running.remove(seq)
        if self.runtime.splits_sequences:
            self.runtime.release(seq.slot)
        self._free_slots.append(seq.slot)
        self._free_cells += len(seq.tokens)
        seq.slot = -1


__all__ = ["Step", "Stepper"]
