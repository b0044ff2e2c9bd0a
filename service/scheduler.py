"""One owner per model: a worker thread, a bounded two-lane queue, token-budget batches.

A llama.cpp context is not thread-safe and its calls hold the CPU for long stretches,
so every call into a model runs on that model's own thread and the event loop only
ever waits on asyncio futures. The worker also tokenises (prompt templates over long
documents are real CPU work). Admission never blocks: a full queue is an immediate
`ResourceExhaustedError`, which the client can retry elsewhere, instead of a growing
wait. Work whose caller has gone (cancelled, deadline passed) is dropped before it
reaches the engine. Short requests (queries) have their own lane so they are not
stuck behind long document batches; every `LONG_EVERY`-th pick goes to the long lane
so that documents are not starved either.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from service.engine.types import EmbedOptions, Embedding, GgufDescription, PreparedInput
from service.errors import DeadlineExceededError, ResourceExhaustedError, UnavailableError

if TYPE_CHECKING:
    from service.engine import Model

log = logging.getLogger(__name__)

LONG_EVERY = 4
"""After this many short-lane picks in a row, the next pick comes from the long lane."""

T = TypeVar("T")


@dataclass(frozen=True)
class Timing:
    queue_ns: int
    tokenization_ns: int
    inference_ns: int


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a job produced, with the token count and timings its response reports."""

    values: list[T]
    prompt_tokens: int
    timing: Timing
    items: list[PreparedInput]
    """The token sequences the values came from (counts and truncation per input)."""


class Work(Protocol[T]):
    """One request's worth of engine work, run on the model's worker thread."""

    def prepare(self, model: Model) -> list[PreparedInput]: ...

    def batch_key(self) -> Hashable | None:
        """Jobs with equal keys may share an engine call; None never shares."""
        ...

    def run(self, model: Model, items: list[PreparedInput]) -> list[T]:
        """One output per item; `items` may mix several jobs with the same key."""
        ...


@dataclass(frozen=True)
class EmbedWork:
    texts: list[str]
    options: EmbedOptions
    fields: list[str]

    def prepare(self, model: Model) -> list[PreparedInput]:
        return [model.prepare_embed(t, self.options, f) for t, f in zip(self.texts, self.fields, strict=True)]

    def batch_key(self) -> Hashable | None:
        return ("embed", self.options)

    def run(self, model: Model, items: list[PreparedInput]) -> list[Embedding]:
        return model.embed_prepared(items, self.options)


@dataclass(frozen=True)
class RerankWork:
    query: str
    documents: list[str]
    instruction: str | None
    truncate: bool
    fields: list[str]

    def prepare(self, model: Model) -> list[PreparedInput]:
        return [
            model.prepare_rerank(self.query, doc, self.instruction, self.truncate, f)
            for doc, f in zip(self.documents, self.fields, strict=True)
        ]

    def batch_key(self) -> Hashable | None:
        return ("rerank",)

    def run(self, model: Model, items: list[PreparedInput]) -> list[float]:
        return model.score_prepared(items)


@dataclass(frozen=True)
class CallWork(Generic[T]):
    """Anything else that must touch the model (tokenize, detokenize): never batched."""

    call: Callable[[Model], list[T]]

    def prepare(self, model: Model) -> list[PreparedInput]:
        return []

    def batch_key(self) -> Hashable | None:
        return None

    def run(self, model: Model, items: list[PreparedInput]) -> list[T]:
        return self.call(model)


@dataclass(eq=False)
class _Job:
    work: Work[Any]
    future: asyncio.Future[Outcome[Any]]
    loop: asyncio.AbstractEventLoop
    deadline: float | None
    enqueued_ns: int = field(default_factory=time.monotonic_ns)
    gone: bool = False
    """The caller cancelled; set on the event loop, read by the worker."""
    settled: bool = False
    started_ns: int = 0
    tokenization_ns: int = 0
    inference_ns: int = 0
    items: list[PreparedInput] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)

    @property
    def n_tokens(self) -> int:
        return sum(len(item.tokens) for item in self.items)

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline


class WorkerObserver(Protocol):
    """Where a worker reports what metrics need; called from the worker's thread and the event loop."""

    def queue_depth(self, depth: int) -> None: ...

    def waited(self, seconds: float) -> None:
        """A job left the queue for the engine after waiting this long."""
        ...

    def batch(self, n_items: int, n_tokens: int) -> None:
        """One engine call ran over this many inputs and tokens."""
        ...


class _Unobserved:
    def queue_depth(self, depth: int) -> None:
        pass

    def waited(self, seconds: float) -> None:
        pass

    def batch(self, n_items: int, n_tokens: int) -> None:
        pass


@dataclass
class WorkerStats:
    """Counters read by tests and logs; written only under the worker's lock."""

    queued: int = 0
    high_water: int = 0
    batches: int = 0
    skipped: int = 0


class ModelWorker:
    """The single owner of one loaded model."""

    def __init__(
        self,
        model: Model,
        *,
        max_queued: int,
        max_batch_tokens: int,
        retry_after_s: float,
    ) -> None:
        self.model = model
        self.description: GgufDescription = model.description
        self.n_ctx: int = model.n_ctx
        self.stats = WorkerStats()
        self._max_queued = max_queued
        self._max_batch_tokens = max_batch_tokens
        self._retry_after_s = retry_after_s
        self._cond = threading.Condition()
        self._short: deque[_Job] = deque()
        self._long: deque[_Job] = deque()
        self._short_streak = 0
        self._held: _Job | None = None
        self._stopping = False
        self.observer: WorkerObserver = _Unobserved()
        """Set by whoever exports metrics, right after the worker is made."""
        self._thread = threading.Thread(target=self._loop, name=f"model-{self.description.model_id}", daemon=True)
        self._thread.start()

    def submit(self, work: Work[T], *, short: bool, timeout_s: float | None) -> asyncio.Future[Outcome[T]]:
        """Queues `work` without blocking; call on the event loop, await the returned future."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome[T]] = loop.create_future()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        job = _Job(work, future, loop, deadline)
        with self._cond:
            if self._stopping:
                raise UnavailableError("the server is shutting down", reason="DRAINING")
            if self.stats.queued >= self._max_queued:
                raise ResourceExhaustedError(
                    f"model {self.description.model_id} has {self.stats.queued} requests queued; retry later",
                    retry_after_s=self._retry_after_s,
                )
            (self._short if short else self._long).append(job)
            self.stats.queued += 1
            self.stats.high_water = max(self.stats.high_water, self.stats.queued)
            self.observer.queue_depth(self.stats.queued)
            self._cond.notify()
        future.add_done_callback(lambda f: self._forget(job, f))
        return future

    def _forget(self, job: _Job, future: asyncio.Future[Any]) -> None:
        """A cancelled caller's job leaves the queue at once, freeing its slot for callers still waiting.

        A job the worker already took (tokenising, in a batch) is only marked gone; the worker
        drops it before the next engine call.
        """
        if not future.cancelled():
            return
        job.gone = True
        with self._cond:
            lane = self._short if job in self._short else self._long if job in self._long else None
            if lane is None:
                return
            lane.remove(job)
            job.settled = True
            self.stats.queued -= 1
            self.stats.skipped += 1
            self.observer.queue_depth(self.stats.queued)

    def close(self, timeout_s: float = 30.0) -> None:
        """Fails what is still queued, waits for the batch in progress, then frees the model."""
        with self._cond:
            self._stopping = True
            abandoned = list(self._short) + list(self._long)
            self._short.clear()
            self._long.clear()
            self._cond.notify_all()
        for job in abandoned:
            self._fail(job, UnavailableError("the server is shutting down", reason="DRAINING"))
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.error("worker of %s did not stop within %.0fs", self.description.model_id, timeout_s)
            return
        self.model.close()

    # --- worker thread -------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            job = self._take(block=True)
            if job is None:
                return
            batch = [job]
            try:
                self._serve(batch)
            except Exception as exc:  # a bug in one batch must neither kill the worker nor strand its callers
                log.exception("worker of %s failed a batch", self.description.model_id)
                for stranded in batch:
                    self._fail(stranded, exc)

    def _serve(self, batch: list[_Job]) -> None:
        """Grows `batch` (its head already taken) greedily under the token budget, then runs it."""
        head = batch[0]
        if not self._start(head):
            return
        key = head.work.batch_key()
        tokens = head.n_tokens
        while key is not None and tokens < self._max_batch_tokens:
            nxt = self._take(block=False)
            if nxt is None:
                break
            if not self._start(nxt):
                continue
            if nxt.work.batch_key() != key or tokens + nxt.n_tokens > self._max_batch_tokens:
                self._held = nxt
                break
            batch.append(nxt)
            tokens += nxt.n_tokens
        self._run(batch)

    def _start(self, job: _Job) -> bool:
        """Drops a job whose caller has gone, else tokenises it (once); False when it is settled."""
        if job.gone or job.expired():
            with self._cond:
                self.stats.skipped += 1
            self._fail(job, DeadlineExceededError("the deadline passed while the request was queued"))
            return False
        if job.started_ns:
            return True
        job.started_ns = time.monotonic_ns()
        self.observer.waited((job.started_ns - job.enqueued_ns) / 1e9)
        try:
            job.items = job.work.prepare(self.model)
        except Exception as exc:
            self._fail(job, exc)
            return False
        job.tokenization_ns = time.monotonic_ns() - job.started_ns
        return True

    def _run(self, batch: list[_Job]) -> None:
        if batch[0].work.batch_key() is None:
            self._run_call(batch[0])
        else:
            for chunk in self._chunks(batch):
                live = [(job, i) for job, i in chunk if not job.gone and not job.settled]
                if live:
                    self._run_chunk(live)
        for job in batch:
            if job.gone:
                self._fail(job, DeadlineExceededError("the caller went away"))
            else:
                self._succeed(job)

    def _chunks(self, batch: list[_Job]) -> list[list[tuple[_Job, int]]]:
        """Splits the batch's items into engine calls of at most `max_batch_tokens` (at least one item each)."""
        chunks: list[list[tuple[_Job, int]]] = [[]]
        tokens = 0
        for job in batch:
            for i, item in enumerate(job.items):
                if chunks[-1] and tokens + len(item.tokens) > self._max_batch_tokens:
                    chunks.append([])
                    tokens = 0
                chunks[-1].append((job, i))
                tokens += len(item.tokens)
        return chunks

    def _run_chunk(self, chunk: list[tuple[_Job, int]]) -> None:
        jobs = list(dict.fromkeys(job for job, _ in chunk))
        started = time.monotonic_ns()
        try:
            outputs = jobs[0].work.run(self.model, [job.items[i] for job, i in chunk])
        except Exception as exc:
            for job in jobs:
                self._fail(job, exc)
            return
        elapsed = time.monotonic_ns() - started
        with self._cond:
            self.stats.batches += 1
        self.observer.batch(len(chunk), sum(len(job.items[i].tokens) for job, i in chunk))
        for (job, _), output in zip(chunk, outputs, strict=True):
            job.outputs.append(output)
        for job in jobs:
            job.inference_ns += elapsed

    def _run_call(self, job: _Job) -> None:
        started = time.monotonic_ns()
        try:
            job.outputs = job.work.run(self.model, [])
        except Exception as exc:
            self._fail(job, exc)
        job.inference_ns = time.monotonic_ns() - started

    def _take(self, *, block: bool) -> _Job | None:
        with self._cond:
            if self._held is not None:
                job, self._held = self._held, None
                return job
            while block and not self._short and not self._long and not self._stopping:
                self._cond.wait()
            if self._short and (not self._long or self._short_streak < LONG_EVERY):
                self._short_streak += 1
                return self._short.popleft()
            if self._long:
                self._short_streak = 0
                return self._long.popleft()
            return None

    def _succeed(self, job: _Job) -> None:
        timing = Timing(
            queue_ns=job.started_ns - job.enqueued_ns,
            tokenization_ns=job.tokenization_ns,
            inference_ns=job.inference_ns,
        )
        outcome: Outcome[Any] = Outcome(job.outputs, job.n_tokens, timing, job.items)
        self._settle(job, lambda: job.future.set_result(outcome))

    def _fail(self, job: _Job, exc: BaseException) -> None:
        self._settle(job, lambda: job.future.set_exception(exc))

    def _settle(self, job: _Job, settle: Callable[[], None]) -> None:
        """Settles each job exactly once, from the worker thread, on the job's own loop."""
        if job.settled:
            return
        job.settled = True
        with self._cond:
            self.stats.queued -= 1
            self.observer.queue_depth(self.stats.queued)

        def apply() -> None:
            if not job.future.done():
                settle()

        try:
            job.loop.call_soon_threadsafe(apply)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass


__all__ = [
    "CallWork",
    "EmbedWork",
    "ModelWorker",
    "Outcome",
    "RerankWork",
    "Timing",
    "Work",
    "WorkerObserver",
    "WorkerStats",
]
