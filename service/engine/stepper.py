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

Order within a step: urgent sequences (those that end within the step before longer ones),
then sequences already started (finishing them frees their cells and their callers), then
waiting ones in arrival order. On a CPU a
decode costs about the same per token whatever its size, so a step with urgent work
carries nothing else (`urgent_alone`): filled up with document tokens it would take the
full step's time, and the query would wait for them. On a GPU a step is milliseconds
and the spare room is better filled. Encoders see each sequence whole: theirs are never split.

Shared prefixes: a sequence may name how many of its leading tokens other sequences share
(a rerank's system prompt, instruction and query; a query's instruction). Those tokens are
decoded once, into a slot of their own, and each sharing sequence's slot is given the same
KV cells (`LlamaRuntime.share`, llama_memory_seq_cp on the unified cache: no copy), or,
when the prefix is decoded in this very step, its tokens carry every waiting user's slot as
well. A sharing sequence then decodes only its own tokens. The prefix's cells are freed when
its last user ends, or kept in a small LRU cache (`prefix_cache_cells`) for the next
request with the same prefix (the default instruction's queries).

KV cells: a document (not urgent) starts only when a slot is free beyond `RESERVED_SLOTS`
and its whole own length fits the cells not promised to other documents (`committed`), so
every started document can finish. An urgent sequence *borrows*: it starts when its
length fits the cells physically free now (trimming the tail of a document in flight, which
that document decodes again later, when not), and documents' pieces use only cells that no
urgent sequence needs. So a query waits one step even behind a document that fills the
context, and documents are never stranded: once the urgent sequences end, every cell
promised to them is free again.

Token vectors: a sequence added with `every` has every token's hidden state kept (the pieces
it decodes mark all their tokens as outputs) and ends with all of them as its row, one per token.
It shares no prefix: a shared prefix's states are decoded once, in another slot. A context
without embeddings computes the vocabulary head over every output row, and llama.cpp keeps
n_vocab floats per row of the largest decode it saw (its output buffer and the graph's logits):
measured on the tiny Qwen3 (vocabulary 151,669, 16 sequences), the first token-vector request
added 7.8 MiB of resident memory with 16 rows a step, 26 MiB with 32, 63 MiB with 64 and 137 MiB
with 128, and none on later requests. So a step carries at most `TOKEN_ROWS_PER_STEP` such rows
(a causal sequence's are split over steps like any other). An encoder outputs every token
anyway: its pieces are whole, as always.

Flash attention: ggml's CPU kernel sums a decode of fewer than 64 tokens in half precision over
every cell its tokens attend to, and a split sequence's last piece holds the token whose state is
its output. Decoded alone, a long document's last 29 tokens put its vector at cosine 0.999988 of
the float64 reference; its last 125, at 0.999999997 (docs/engine-tuning.md section 11). So with
flash attention a split sequence's last piece is at least `EXACT_LAST_PIECE` tokens
(`last_piece`), where both step lengths hold that many. Token-vector sequences, at most
`TOKEN_ROWS_PER_STEP` rows a step, are not held to it.

Not thread-safe: one thread at a time (the model's worker).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from itertools import count
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from service.engine.llama_backend import LlamaRuntime, Piece
from service.core.errors import EngineError

K = TypeVar("K", bound=Hashable)

RESERVED_SLOTS = 1
"""Slots documents leave free, so that a query never waits for a document to end to get one."""

TOKEN_ROWS_PER_STEP = 32
"""Token-vector rows one step of a splitting (causal) context outputs at most (see above)."""

EXACT_LAST_PIECE = 64
"""The fewest tokens ggml's CPU flash-attention kernel sums in single precision (see above)."""


@dataclass(eq=False)
class _Prefix:
    """Leading tokens several sequences share, decoded once into a slot of their own."""

    tokens: tuple[int, ...]
    slot: int
    lent: bool
    """Started for urgent sequences only: its cells are borrowed (`_urgent_left`), not promised."""
    done: int = 0
    users: int = 0
    piece: _Planned | None = None
    """Its piece in the step being planned, which users arriving in the same step join."""


@dataclass(eq=False)
class _Sequence(Generic[K]):
    key: K
    tokens: Sequence[int]
    urgent: bool
    order: int
    shared: int = 0
    """Leading tokens that other sequences may share (0: none)."""
    done: int = 0
    """Tokens already in the sequence's slot (a shared prefix's included)."""
    slot: int = -1
    prefix: _Prefix | None = None
    lent: bool = False
    """Runs on borrowed cells (an urgent sequence): counted in `_urgent_left`, not `_committed`."""
    every: bool = False
    """Keep every token's hidden state (token vectors)."""
    states: list[npt.NDArray[np.float32]] = field(default_factory=list)
    """With `every`: the hidden states of the tokens decoded so far, in order."""

    @property
    def started(self) -> bool:
        return self.slot >= 0

    @property
    def base(self) -> int:
        return len(self.prefix.tokens) if self.prefix is not None else 0

    @property
    def own(self) -> int:
        """Cells of its own: its tokens after the shared prefix."""
        return len(self.tokens) - self.base

    @property
    def own_done(self) -> int:
        return max(0, self.done - self.base)


def _left(seq: _Sequence[K]) -> int:
    """Tokens the sequence still has to decode, its shared prefix's included."""
    return len(seq.tokens) - seq.done


@dataclass(eq=False)
class _Planned:
    slot: int
    tokens: Sequence[int]
    start: int
    last: bool
    also: list[int] = field(default_factory=list)
    keeps: _Sequence[Any] | None = None
    """The sequence whose token states this piece's outputs are (`_Sequence.every`)."""

    def piece(self) -> Piece:
        return Piece(self.slot, self.tokens, self.start, self.last, tuple(self.also), self.keeps is not None)


@dataclass
class _Plan(Generic[K]):
    budget: int
    pieces: list[_Planned] = field(default_factory=list)
    keys: list[K] = field(default_factory=list)
    finishing: list[_Sequence[K]] = field(default_factory=list)
    prefixes: list[_Prefix] = field(default_factory=list)
    urgent: bool = False
    token_rows: int = TOKEN_ROWS_PER_STEP
    """Token-vector rows this step may still output (a splitting context's only)."""

    def add(self, planned: _Planned, urgent: bool) -> _Planned:
        if not self.pieces:
            self.urgent = urgent
        self.pieces.append(planned)
        self.budget -= len(planned.tokens)
        return planned

    def key(self, seq: _Sequence[K]) -> None:
        if not self.keys or self.keys[-1] != seq.key:
            self.keys.append(seq.key)


@dataclass(frozen=True)
class Step(Generic[K]):
    """What one decode did."""

    finished: list[tuple[K, npt.NDArray[np.float32]]]
    """The sequences that ended in this decode, with their output rows (an `every` sequence's: one
    row per token)."""
    keys: list[K]
    """Every sequence that had tokens in this decode."""
    n_tokens: int


@dataclass(frozen=True)
class KvUse:
    """Where the context's KV cells are; read by tests and metrics."""

    used: int
    """Cells holding KV now (a shared prefix counted once)."""
    committed: int
    """Cells promised to documents (their whole length) and to kept prefixes."""
    lent: int
    """Cells urgent sequences still need, borrowed from what documents have not used yet."""
    cached: int
    """Cells of prefixes kept with no user, for the next request with the same prefix."""
    cached_prefixes: int
    free_slots: int


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
    share_prefixes: bool = True
    """Decode the prefix sequences share once (off: every sequence decodes all of its tokens)."""
    prefix_cache_cells: int = 0
    """Cells of prefixes kept after their last user ends; 0 = none kept."""
    last_piece: int = 0
    """The fewest tokens a split sequence's last piece holds (with flash attention, `EXACT_LAST_PIECE`);
    0 = any. Held only where both step lengths have room for it, or the rest would never fit a step."""
    clock: Callable[[], float] = time.monotonic
    _last_urgent: float = -math.inf
    _waiting: list[_Sequence[K]] = field(default_factory=list)
    _running: list[_Sequence[K]] = field(default_factory=list)
    _free_slots: list[int] = field(default_factory=list)
    _committed: int = 0
    _used: int = 0
    _urgent_left: int = 0
    _prefixes: dict[tuple[int, ...], _Prefix] = field(default_factory=dict)
    _cached: OrderedDict[tuple[int, ...], _Prefix] = field(default_factory=OrderedDict)
    """Prefixes with no user, least recently used first."""
    _cached_cells: int = 0
    decoded: int = 0
    """Tokens decoded so far: what sharing saves shows here (the benchmark reads it)."""
    _waiting_tokens: int = 0
    """Kept as sequences come and go: the worker asks before every admission."""
    _order: count[int] = field(default_factory=count)

    def __post_init__(self) -> None:
        self.step_tokens = max(1, min(self.step_tokens, self.runtime.n_batch))
        self.query_step_tokens = min(self.query_step_tokens or self.step_tokens, self.step_tokens)
        if self.query_step_tokens < self.last_piece:
            self.last_piece = 0
        self._free_slots = list(range(self.runtime.n_seq_max))

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

    @property
    def kv(self) -> KvUse:
        return KvUse(
            self._used, self._committed, self._urgent_left, self._cached_cells, len(self._cached), len(self._free_slots)
        )

    def add(self, key: K, tokens: Sequence[int], *, urgent: bool = False, shared: int = 0, every: bool = False) -> None:
        """Queues a sequence; `shared` leading tokens may be shared with others that have the same ones;
        `every`: its row is every token's hidden state, not its output's."""
        if not 0 < len(tokens) <= self.runtime.n_ctx:
            raise EngineError(f"sequence of {len(tokens)} tokens does not fit a context of {self.runtime.n_ctx}")
        if not self.runtime.splits_sequences and len(tokens) > self.runtime.n_batch:
            raise EngineError(f"sequence of {len(tokens)} tokens does not fit a decode of {self.runtime.n_batch}")
        sharing = self.share_prefixes and self.runtime.splits_sequences and not every
        shared = min(shared, len(tokens) - 1) if sharing else 0
        self._waiting.append(_Sequence(key, tokens, urgent, next(self._order), max(shared, 0), every=every))
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
        self._running.clear()
        self._prefixes.clear()
        self._cached.clear()
        self._committed = self._used = self._urgent_left = self._cached_cells = 0
        self._free_slots = list(range(self.runtime.n_seq_max))
        self.runtime.clear()

    def step(self) -> Step[K]:
        """Runs one decode over the next pieces; an empty Step when nothing is left."""
        plan: _Plan[K] = _Plan(self.next_step_tokens)
        whole = not self.runtime.splits_sequences
        try:
            for seq in self._plan_order(plan.budget):
                if plan.budget <= 0 or (self.urgent_alone and plan.urgent and not seq.urgent):
                    break
                if whole and _left(seq) > plan.budget and plan.pieces:
                    continue  # whole or not at all; a sequence longer than a step gets a step of its own
                if not seq.started and not self._start(seq):
                    if not seq.urgent:
                        break  # later arrivals must not overtake one that waits for cells
                    continue
                if seq.prefix is None or self._plan_prefix(seq, plan):
                    self._plan_own(seq, plan, whole)
            if not plan.pieces:
                return Step([], [], 0)
            decoded = self.runtime.decode([planned.piece() for planned in plan.pieces], self.logit_ids)
        finally:
            for prefix in plan.prefixes:
                prefix.piece = None
        for planned, states in zip(plan.pieces, decoded.states, strict=True):
            if planned.keeps is not None and states is not None:
                planned.keeps.states.append(states)
        finished: list[tuple[K, npt.NDArray[np.float32]]] = []
        for seq in plan.finishing:
            row = decoded.rows[len(finished)]
            finished.append((seq.key, np.concatenate(seq.states) if seq.every else row))
            self._finish(seq)
        n_tokens = sum(len(planned.tokens) for planned in plan.pieces)
        self.decoded += n_tokens
        return Step(finished, plan.keys, n_tokens)

    def _plan_order(self, budget: int) -> list[_Sequence[K]]:
        """Urgent sequences first, and of them those that end within this step before longer ones,
        so a one-line query never waits behind a long urgent prompt being decoded step by step."""
        return sorted(
            self._running + self._waiting,
            key=lambda seq: (not seq.urgent, not (seq.urgent and _left(seq) <= budget), not seq.started, seq.order),
        )

    def _room(self, lent: bool, want: int) -> int:
        """Tokens a piece may decode now: borrowed cells are there already; others only where no
        urgent sequence needs them."""
        return want if lent else max(0, min(want, self.runtime.n_ctx - self._used - self._urgent_left))

    def _use(self, n: int, lent: bool) -> None:
        self._used += n
        if lent:
            self._urgent_left -= n

    def _plan_prefix(self, seq: _Sequence[K], plan: _Plan[K]) -> bool:
        """Brings the sequence's slot up to its prefix's cells; True when it may decode its own tokens now."""
        prefix = seq.prefix
        assert prefix is not None
        n = len(prefix.tokens)
        if seq.done >= n:
            return True
        if prefix.piece is None and prefix.done < n:
            take = self._room(prefix.lent, min(n - prefix.done, plan.budget))
            if take > 0:
                prefix.piece = plan.add(_Planned(prefix.slot, prefix.tokens[prefix.done : prefix.done + take], prefix.done, False), seq.urgent)
                plan.prefixes.append(prefix)
                prefix.done += take
                self._use(take, prefix.lent)
        start = prefix.piece.start if prefix.piece is not None else prefix.done
        if seq.done < start:
            self.runtime.share(prefix.slot, seq.slot, seq.done, start)
            seq.done = start
        if prefix.piece is not None and seq.done == prefix.piece.start:
            prefix.piece.also.append(seq.slot)
            seq.done += len(prefix.piece.tokens)
            plan.key(seq)
        return seq.done >= n

    def _plan_own(self, seq: _Sequence[K], plan: _Plan[K], whole: bool) -> None:
        remaining = _left(seq)
        take = remaining if whole else self._room(seq.lent, min(remaining, plan.budget))
        if seq.every and not whole:
            take = min(take, plan.token_rows)
            plan.token_rows -= max(take, 0)
        elif 0 < take < remaining:
            take = min(take, remaining - self.last_piece)  # the rest, when it is the last piece, at least last_piece
        if take <= 0:
            return
        last = take == remaining
        keeps = seq if seq.every else None
        plan.add(_Planned(seq.slot, seq.tokens[seq.done : seq.done + take], seq.done, last, keeps=keeps), seq.urgent)
        plan.key(seq)
        seq.done += take
        self._use(take, seq.lent)
        if last:
            plan.finishing.append(seq)

    def _start(self, seq: _Sequence[K]) -> bool:
        """Gives the sequence a slot, its cells and its prefix, if there is room; False to wait."""
        key = tuple(seq.tokens[: seq.shared]) if seq.shared else None
        prefix = self._prefixes.get(key) if key is not None else None
        lend = seq.urgent and self.runtime.splits_sequences
        if prefix is not None and prefix.done < len(prefix.tokens) and prefix.lent != lend:
            # Half decoded for the other kind: joining it would make a query wait on a document's
            # cells (or a document hold borrowed ones), so this sequence runs unshared.
            key = prefix = None
        if lend:
            fits = self._borrow(seq, key, prefix)
            if not fits and key is not None:
                key = prefix = None  # no room for the prefix's slot or cells: run it unshared
                fits = self._borrow(seq, None, None)
        else:
            fits = self._promise(seq, key, prefix)
        if not fits:
            return False
        self._waiting.remove(seq)
        self._waiting_tokens -= len(seq.tokens)
        seq.slot = self._free_slots.pop()
        if key is not None:
            seq.prefix = self._hold(key, prefix, lend)
        seq.lent = lend
        if lend:
            self._urgent_left += seq.own
        else:
            self._committed += seq.own
        self._running.append(seq)
        return True

    def _borrow(self, seq: _Sequence[K], key: tuple[int, ...] | None, prefix: _Prefix | None) -> bool:
        """Room for an urgent sequence in the cells free now, evicting kept prefixes or trimming documents."""
        new_prefix = key is not None and prefix is None
        cells = len(seq.tokens) - (len(key) if key is not None and not new_prefix else 0)
        slots = 1 + new_prefix
        while len(self._free_slots) < slots:
            if not self._evict(prefix):
                return False
        while self.runtime.n_ctx - self._used - self._urgent_left < cells:
            if not self._evict(prefix) and not self._trim(cells - (self.runtime.n_ctx - self._used - self._urgent_left)):
                return False
        return True

    def _promise(self, seq: _Sequence[K], key: tuple[int, ...] | None, prefix: _Prefix | None) -> bool:
        """Room for a document among the cells not promised to other documents, evicting kept prefixes."""
        own = len(seq.tokens) - (len(key) if key is not None else 0)
        cells = own + (len(key) if key is not None and (prefix is None or prefix.lent) else 0)
        slots = 1 + (key is not None and prefix is None) + min(RESERVED_SLOTS, self.runtime.n_seq_max - 1)
        while len(self._free_slots) < slots or self.runtime.n_ctx - self._committed < cells:
            if not self._evict(prefix):
                return False
        return True

    def _hold(self, key: tuple[int, ...], prefix: _Prefix | None, lend: bool) -> _Prefix:
        if prefix is None:
            prefix = _Prefix(key, self._free_slots.pop(), lend)
            self._prefixes[key] = prefix
            if lend:
                self._urgent_left += len(key)
            else:
                self._committed += len(key)
        elif prefix.lent and not lend:  # a document takes it over: its cells become promised
            prefix.lent = False
            self._urgent_left -= len(key) - prefix.done
            self._committed += len(key)
        if prefix.users == 0 and self._cached.pop(key, None) is not None:
            self._cached_cells -= len(key)
        prefix.users += 1
        return prefix

    def _evict(self, spare: _Prefix | None = None) -> bool:
        """Frees the least recently used kept prefix but `spare`; False when there is none."""
        victim = next((prefix for prefix in self._cached.values() if prefix is not spare), None)
        if victim is None:
            return False
        del self._cached[victim.tokens]
        self._cached_cells -= len(victim.tokens)
        self._release(victim)
        return True

    def _trim(self, cells: int) -> bool:
        """Takes back up to `cells` decoded cells from the end of the document in flight that has
        the most; it decodes them again later. False when no document has any."""
        documents = [seq for seq in self._running if not seq.lent and seq.own_done > 0]
        if not documents:
            return False
        seq = max(documents, key=lambda s: s.own_done)
        n = min(cells, seq.own_done)
        seq.done -= n
        if seq.every:  # the trimmed tokens' states come again when they are decoded again
            seq.states = [np.concatenate(seq.states)[: seq.done]]
        self.runtime.trim(seq.slot, seq.done)
        self._used -= n
        return True

    def _finish(self, seq: _Sequence[K]) -> None:
        self._running.remove(seq)
        if self.runtime.splits_sequences:
            self.runtime.release(seq.slot)
        self._free_slots.append(seq.slot)
        self._used -= seq.own_done
        if seq.lent:
            self._urgent_left -= seq.own - seq.own_done
        else:
            self._committed -= seq.own
        seq.slot = -1
        prefix, seq.prefix = seq.prefix, None
        if prefix is not None:
            prefix.users -= 1
            if prefix.users == 0:
                self._retire(prefix)

    def _retire(self, prefix: _Prefix) -> None:
        """A prefix whose last user ended: kept for the next request when the cache has room, else freed."""
        n = len(prefix.tokens)
        keep = prefix.done == n and n <= self.prefix_cache_cells
        if keep and prefix.lent:
            keep = self.runtime.n_ctx - self._committed >= n
            if keep:
                prefix.lent = False
                self._committed += n
        if not keep:
            self._release(prefix)
            return
        self._cached[prefix.tokens] = prefix
        self._cached_cells += n
        while self._cached_cells > self.prefix_cache_cells:
            self._evict()

    def _release(self, prefix: _Prefix) -> None:
        del self._prefixes[prefix.tokens]
        self.runtime.release(prefix.slot)
        self._free_slots.append(prefix.slot)
        self._used -= prefix.done
        if prefix.lent:
            self._urgent_left -= len(prefix.tokens) - prefix.done
        else:
            self._committed -= len(prefix.tokens)


__all__ = ["KvUse", "Step", "Stepper"]
