"""One owner per model: a worker thread, a bounded two-lane queue, and the model's Stepper.

A llama.cpp context is not thread-safe and its calls hold the CPU for long stretches,
so every call into a model runs on that model's own thread and the event loop only
ever waits on asyncio futures. The worker also tokenises (prompt templates over long
documents are real CPU work). Admission never blocks: a full queue is an immediate
`ResourceExhaustedError`, which the client can retry elsewhere, instead of a growing
wait. Work whose caller has gone (cancelled, deadline passed) is dropped before its
next decode, queued or half-done.

Requests' sequences are batched by the model's Stepper (service/engine/stepper.py): each
decode is one short step, sequences from any number of calls and streams join and leave
between steps, and long documents are split over steps. The worker keeps just enough
work admitted to fill the next step, so a request stays in the queue, where a cancel is
free, until the engine can use it. Short requests (queries) have their own lane: they are
admitted at once and their sequences go first in the next step, so a query waits for at
most one step however long the documents in flight; every `LONG_EVERY`-th pick goes to
the long lane so that documents are not starved of admission either. A third lane, background
(batch jobs), is admitted only when neither live lane has anything waiting and the next step has
room: live requests always go first, and a batch fills what they leave. Its jobs are bounded by
whoever submits them, so they neither count against `max_queued` nor make a live request wait
for a queue slot.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from service.core.errors import DeadlineExceededError, ResourceExhaustedError, UnavailableError
from service.core.results import Timing
from router.types import GgufDescription
from service.core.values import PreparedInput

if TYPE_CHECKING:
    from service.engine import Model

log = logging.getLogger(__name__)

LONG_EVERY = 4
"""After this many short-lane picks in a row, the next pick comes from the long lane."""

T = TypeVar("T")
Row = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a job produced, with the token count and timings its response reports."""

    values: list[T]
    prompt_tokens: int
    timing: Timing
    items: list[PreparedInput]
    """The token sequences the values came from (counts and truncation per input)."""


@dataclass(frozen=True)
class Prepared:
    """A request's token sequences, ready for the engine."""

    items: list[PreparedInput]
    """One per input the response reports on (token counts, truncation, usage)."""
    extra: list[PreparedInput] = field(default_factory=list)
    """Sequences the work needs besides its inputs (the cosine fallback's query)."""
    every: bool = False
    """Each sequence's row is every token's hidden state (token vectors), not its output's."""


class Work(Protocol[T]):
    """One request's worth of engine work; both methods run on the model's worker thread."""

    def prepare(self, model: Model) -> Prepared: ...

    def finish(self, model: Model, prepared: Prepared, rows: list[Row]) -> list[T]:
        """The request's values from its sequences' output rows: the items', then the extras'."""
        ...


@dataclass(eq=False)
class _Job:
    work: Work[Any]
    future: asyncio.Future[Outcome[Any]]
    loop: asyncio.AbstractEventLoop
    deadline: float | None
    enqueued_ns: int = field(default_factory=time.monotonic_ns)
    gone: bool = False
    """The caller cancelled; set on the event loop, read by the worker."""
    short: bool = False
    """Taken from the short lane: its sequences go first in each step."""
    background: bool = False
    """Queued in the background lane: admitted only when no live job waits; not in `queued`."""
    settled: bool = False
    started_ns: int = 0
    decoding_ns: int = 0
    """When its first decode began: until then it waited, in the queue or for the engine's cells."""
    tokenization_ns: int = 0
    inference_ns: int = 0
    prepared: Prepared = field(default_factory=lambda: Prepared([]))
    rows: dict[int, Row] = field(default_factory=dict)
    outputs: list[Any] = field(default_factory=list)

    @property
    def n_sequences(self) -> int:
        return len(self.prepared.items) + len(self.prepared.extra)

    @property
    def n_tokens(self) -> int:
        return sum(len(item.tokens) for item in self.prepared.items)

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline


class WorkerObserver(Protocol):
    """Where a worker reports what metrics need; called from the worker's thread and the event loop."""

    def queue_depth(self, depth: int) -> None: ...

    def waited(self, seconds: float) -> None:
        """A job left the queue for the engine after waiting this long."""
        ...

    def batch(self, n_items: int, n_tokens: int) -> None:
        """One decode ran over pieces of this many sequences, this many tokens in all."""
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
    """Decodes run (steps)."""
    skipped: int = 0


class ModelWorker:
    """The single owner of one loaded model."""

    def __init__(self, model: Model, *, max_queued: int, retry_after_s: float) -> None:
        self.model = model
        self.description: GgufDescription = model.description
        self.n_ctx: int = model.n_ctx
        self.stats = WorkerStats()
        self._max_queued = max_queued
        self._retry_after_s = retry_after_s
        self._cond = threading.Condition()
        self._short: deque[_Job] = deque()
        self._long: deque[_Job] = deque()
        self._background: deque[_Job] = deque()
        self._short_streak = 0
        self._active: list[_Job] = []
        """Jobs whose sequences are in the stepper; only the worker thread touches it."""
        self._stopping = False
        self.observer: WorkerObserver = _Unobserved()
        """Set by whoever exports metrics, right after the worker is made."""
        self._thread = threading.Thread(target=self._loop, name=f"model-{self.description.model_id}", daemon=True)
        self._thread.start()

    def submit(
        self, work: Work[T], *, short: bool, timeout_s: float | None, background: bool = False
    ) -> asyncio.Future[Outcome[T]]:
        """Queues `work` without blocking; call on the event loop, await the returned future.

        `background` work waits in the lowest lane (see the module's docstring); `short` is then ignored."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome[T]] = loop.create_future()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        job = _Job(work, future, loop, deadline, background=background)
        with self._cond:
            if self._stopping:
                raise UnavailableError("the server is shutting down", reason="DRAINING")
            if background:
                self._background.append(job)
                self._cond.notify()
                future.add_done_callback(lambda f: self._forget(job, f))
                return future
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

        A job the worker already took (tokenising, in the stepper) is only marked gone; the
        worker drops its sequences before the next decode.
        """
        if not future.cancelled():
            return
        job.gone = True
        with self._cond:
            lane = next((q for q in (self._short, self._long, self._background) if job in q), None)
            if lane is None:
                return
            lane.remove(job)
            job.settled = True
            self.stats.skipped += 1
            if not job.background:
                self.stats.queued -= 1
                self.observer.queue_depth(self.stats.queued)

    def close(self, timeout_s: float = 30.0) -> None:
        """Fails what is still queued, waits for the work already admitted, then frees the model."""
        with self._cond:
            self._stopping = True
            abandoned = list(self._short) + list(self._long) + list(self._background)
            self._short.clear()
            self._long.clear()
            self._background.clear()
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
            try:
                if not self._admit():
                    return
                self._step()
            except Exception as exc:  # a bug in one step must neither kill the worker nor strand its callers
                log.exception("worker of %s failed a decode", self.description.model_id)
                self._abandon(exc)

    def _admit(self) -> bool:
        """Moves queued jobs into the stepper until the next step has enough work; False to stop.

        Every short job queued is admitted (its sequences go first anyway); long ones only
        while the stepper has less waiting than one step, so they stay cancellable in the
        queue. Calls (tokenize) run here, between two decodes.
        """
        stepper = self.model.stepper
        while True:
            job = self._take(block=not stepper.busy, want_long=stepper.waiting_tokens < stepper.step_tokens)
            if job is None:
                return stepper.busy or not self._stopping
            if not self._start(job):
                continue
            if job.n_sequences == 0:
                self._complete(job)
                continue
            try:
                for index, item in enumerate(job.prepared.items + job.prepared.extra):
                    stepper.add((job, index), item.tokens, urgent=job.short, shared=item.n_shared, every=job.prepared.every)
            except Exception as exc:  # a sequence the context cannot hold: this request fails, no other
                self._drop(job)
                self._fail(job, exc)
                continue
            self._active.append(job)

    def _step(self) -> None:
        stepper = self.model.stepper
        gone = [job for job in self._active if job.gone]
        if gone:
            stepper.drop(lambda key: key[0].gone)
            for job in gone:
                self._active.remove(job)
                self._fail(job, DeadlineExceededError("the caller went away"))
        if not stepper.busy:
            return
        started = time.monotonic_ns()
        try:
            step = stepper.step()
        except Exception as exc:
            self._abandon(exc)
            return
        elapsed = time.monotonic_ns() - started
        with self._cond:
            self.stats.batches += 1
        self.observer.batch(len(step.keys), step.n_tokens)
        for job in dict.fromkeys(key[0] for key in step.keys):
            job.inference_ns += elapsed
            job.decoding_ns = job.decoding_ns or started
        for (job, index), row in step.finished:
            job.rows[index] = row
            if len(job.rows) == job.n_sequences:
                self._active.remove(job)
                self._complete(job)

    def _drop(self, job: _Job) -> None:
        self.model.stepper.drop(lambda key: bool(key[0] is job))

    def _abandon(self, exc: BaseException) -> None:
        """A failed decode leaves the KV cells unknown: fail every job in the stepper and start clean."""
        self.model.stepper.reset()
        jobs, self._active = self._active, []
        for job in jobs:
            self._fail(job, exc)

    def _start(self, job: _Job) -> bool:
        """Drops a job whose caller has gone, else tokenises it; False when it is settled."""
        if job.gone or job.expired():
            with self._cond:
                self.stats.skipped += 1
            self._fail(job, DeadlineExceededError("the deadline passed while the request was queued"))
            return False
        job.started_ns = time.monotonic_ns()
        self.observer.waited((job.started_ns - job.enqueued_ns) / 1e9)
        try:
            job.prepared = job.work.prepare(self.model)
        except Exception as exc:
            self._fail(job, exc)
            return False
        job.tokenization_ns = time.monotonic_ns() - job.started_ns
        return True

    def _complete(self, job: _Job) -> None:
        try:
            job.outputs = job.work.finish(self.model, job.prepared, [job.rows[i] for i in range(job.n_sequences)])
        except Exception as exc:
            self._fail(job, exc)
            return
        self._succeed(job)

    def _take(self, *, block: bool, want_long: bool) -> _Job | None:
        """The next job to admit: short lane first, every LONG_EVERY-th pick from the long lane, and
        the background lane only when neither has a job waiting."""
        with self._cond:
            while block and not self._short and not self._long and not self._background and not self._stopping:
                self._cond.wait()
            long_ready = bool(self._long) and want_long
            if self._short and (not long_ready or self._short_streak < LONG_EVERY):
                self._short_streak += 1
                job = self._short.popleft()
                job.short = True
                return job
            if long_ready:
                self._short_streak = 0
                return self._long.popleft()
            if want_long and self._background and not self._short and not self._long:
                return self._background.popleft()
            return None

    def _succeed(self, job: _Job) -> None:
        waited_until = job.decoding_ns or job.started_ns + job.tokenization_ns
        timing = Timing(
            queue_ns=waited_until - job.enqueued_ns - job.tokenization_ns,
            tokenization_ns=job.tokenization_ns,
            inference_ns=job.inference_ns,
        )
        outcome: Outcome[Any] = Outcome(job.outputs, job.n_tokens, timing, job.prepared.items)
        self._settle(job, lambda: job.future.set_result(outcome))

    def _fail(self, job: _Job, exc: BaseException) -> None:
        self._settle(job, lambda: job.future.set_exception(exc))

    def _settle(self, job: _Job, settle: Callable[[], None]) -> None:
        """Settles each job exactly once, from the worker thread, on the job's own loop."""
        if job.settled:
            return
        job.settled = True
        if not job.background:
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
    "ModelWorker",
    "Outcome",
    "Prepared",
    "Row",
    "Work",
    "WorkerObserver",
    "WorkerStats",
]
