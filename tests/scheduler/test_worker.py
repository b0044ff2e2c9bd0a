"""The model worker's queue rules, on the real Stepper over a fake llama.cpp runtime that records every decode.

Everything a user sees is also tested through the real server; here a fake makes the
ordering observable: the worker is held on a gate while the queue fills, then released.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pytest

from service.engine.llama_backend import Decoded, Piece
from service.engine.stepper import Stepper
from service.core.values import EmbedOptions, Embedding, PreparedInput
from service.core.errors import DeadlineExceededError, EngineError, ResourceExhaustedError
from service.app.work import EmbedWork
from service.scheduler import ModelWorker

T = TypeVar("T")


@dataclass
class FakeDescription:
    model_id: str = "fake"


@dataclass
class FakeRuntime:
    """Tokens = words, each word's token the text's number, so a decode can name its texts.

    `gate` holds the worker inside the first decode that has a piece of a text starting with "hold".
    """

    n_batch: int
    texts: list[str] = field(default_factory=list)
    calls: list[list[str]] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)
    entered: threading.Event = field(default_factory=threading.Event)
    fail_on: str = ""
    n_ctx: int = 512
    n_seq_max: int = 16
    splits_sequences: bool = True

    def decode(self, pieces: Sequence[Piece], logit_ids: Sequence[int] = ()) -> Decoded:
        texts = [self.texts[piece.tokens[0]] for piece in pieces]
        self.calls.append(texts)
        if any(text.startswith("hold") for text in texts):
            self.entered.set()
            self.gate.wait(10)
        if self.fail_on in texts:
            raise EngineError("llama_decode failed")
        rows = np.array([[piece.tokens[0]] * 8 for piece in pieces if piece.last], dtype=np.float32)
        return Decoded(rows, [None] * len(pieces))

    def release(self, slot: int) -> None:
        pass

    def clear(self) -> None:
        pass


class FakeModel:
    def __init__(self, step_tokens: int) -> None:
        self.description = FakeDescription()
        self.n_ctx = 512
        self.runtime = FakeRuntime(step_tokens)
        self.stepper: Stepper[Any] = Stepper(self.runtime, step_tokens)  # type: ignore[arg-type]

    def prepare_embed(self, text: str, options: EmbedOptions) -> PreparedInput:
        self.runtime.texts.append(text)
        n_words = len(text.split())
        return PreparedInput(tokens=[len(self.runtime.texts) - 1] * n_words, n_user_tokens=n_words, truncated=False)

    def embedding(self, row: npt.NDArray[np.float32], item: PreparedInput, options: EmbedOptions) -> Embedding:
        return Embedding(row[: options.dimensions], len(item.tokens), False)

    def close(self) -> None:
        pass


def work(model: FakeModel, *texts: str, options: EmbedOptions | None = None) -> EmbedWork:
    return EmbedWork(list(texts), options or EmbedOptions())


def run(test: Callable[[FakeModel, ModelWorker], Awaitable[T]], step_tokens: int = 64, **limits: Any) -> tuple[FakeRuntime, T]:
    model = FakeModel(step_tokens)
    settings = {"max_queued": 100, "retry_after_s": 0.5, **limits}
    worker = ModelWorker(model, **settings)  # type: ignore[arg-type]

    async def main() -> T:
        try:
            return await test(model, worker)
        finally:
            model.runtime.gate.set()
            await asyncio.to_thread(worker.close, 5)

    return model.runtime, asyncio.run(main())


async def hold(model: FakeModel, worker: ModelWorker) -> asyncio.Future[Any]:
    """Parks the worker inside a decode until `model.runtime.gate` is set."""
    held = worker.submit(work(model, "hold"), short=True, timeout_s=None)
    await asyncio.to_thread(model.runtime.entered.wait, 5)
    return held


def test_queued_requests_share_one_decode() -> None:
    async def scenario(model: FakeModel, worker: ModelWorker) -> None:
        held = await hold(model, worker)
        futures = [worker.submit(work(model, f"t{i}"), short=True, timeout_s=None) for i in range(5)]
        model.runtime.gate.set()
        await asyncio.gather(held, *futures)

    runtime, _ = run(scenario)
    assert runtime.calls == [["hold"], ["t0", "t1", "t2", "t3", "t4"]]


def test_steps_are_filled_to_their_token_budget() -> None:
    """4 tokens each, 10 per step: the third request is split over two decodes."""

    async def scenario(model: FakeModel, worker: ModelWorker) -> None:
        held = await hold(model, worker)
        futures = [worker.submit(work(model, f"a{i} b c d"), short=True, timeout_s=None) for i in range(5)]
        model.runtime.gate.set()
        await asyncio.gather(held, *futures)

    runtime, _ = run(scenario, step_tokens=10)
    assert runtime.calls == [["hold"], ["a0 b c d", "a1 b c d", "a2 b c d"], ["a2 b c d", "a3 b c d", "a4 b c d"]]


def test_different_options_share_a_decode_and_finish_their_own_way() -> None:
    async def scenario(model: FakeModel, worker: ModelWorker) -> list[int]:
        held = await hold(model, worker)
        cut = EmbedOptions(dimensions=4)
        futures = [
            worker.submit(work(model, "d1"), short=True, timeout_s=None),
            worker.submit(work(model, "q1", options=cut), short=True, timeout_s=None),
        ]
        model.runtime.gate.set()
        await held
        return [len(outcome.values[0].vector) for outcome in await asyncio.gather(*futures)]

    runtime, widths = run(scenario)
    assert runtime.calls == [["hold"], ["d1", "q1"]]
    assert widths == [8, 4]


def test_cancelled_and_expired_work_never_reaches_the_engine() -> None:
    async def scenario(model: FakeModel, worker: ModelWorker) -> None:
        held = await hold(model, worker)
        cancelled = worker.submit(work(model, "gone"), short=True, timeout_s=None)
        expired = worker.submit(work(model, "late"), short=True, timeout_s=0.0)
        kept = worker.submit(work(model, "kept"), short=True, timeout_s=None)
        cancelled.cancel()
        await asyncio.sleep(0.01)
        model.runtime.gate.set()
        await asyncio.gather(held, kept)
        with pytest.raises(DeadlineExceededError):
            await expired
        assert worker.stats.skipped == 2

    runtime, _ = run(scenario)
    assert runtime.calls[1:] == [["kept"]]


def test_short_lane_goes_first() -> None:
    async def scenario(model: FakeModel, worker: ModelWorker) -> list[str]:
        held = await hold(model, worker)
        done: list[str] = []
        long_job = worker.submit(work(model, "doc " * 5), short=False, timeout_s=None)
        short_job = worker.submit(work(model, "query q q"), short=True, timeout_s=None)
        for name, job in (("doc", long_job), ("query", short_job)):
            job.add_done_callback(lambda _, name=name: done.append(name))
        model.runtime.gate.set()
        await asyncio.gather(held, long_job, short_job)
        return done

    runtime, done = run(scenario, step_tokens=4)
    assert runtime.calls == [["hold"], ["query q q"], ["doc " * 5], ["doc " * 5]]
    assert done == ["query", "doc"]


def test_a_query_overtakes_a_document_already_in_the_engine() -> None:
    """The document is split over 4-token steps; the query arrives during the first and has the next to itself."""

    async def scenario(model: FakeModel, worker: ModelWorker) -> list[str]:
        done: list[str] = []
        doc = worker.submit(work(model, "hold " + "x " * 11), short=False, timeout_s=None)
        await asyncio.to_thread(model.runtime.entered.wait, 5)
        query = worker.submit(work(model, "query q"), short=True, timeout_s=None)
        for name, job in (("doc", doc), ("query", query)):
            job.add_done_callback(lambda _, name=name: done.append(name))
        model.runtime.gate.set()
        await asyncio.gather(doc, query)
        return done

    runtime, done = run(scenario, step_tokens=4)
    doc = "hold " + "x " * 11
    assert runtime.calls == [[doc], ["query q"], [doc], [doc]]
    assert done == ["query", "doc"]


def test_full_queue_is_refused_at_once() -> None:
    async def scenario(model: FakeModel, worker: ModelWorker) -> float:
        held = await hold(model, worker)
        queued = worker.submit(work(model, "one"), short=True, timeout_s=None)
        with pytest.raises(ResourceExhaustedError) as refused:
            worker.submit(work(model, "two"), short=True, timeout_s=None)
        model.runtime.gate.set()
        await asyncio.gather(held, queued)
        return refused.value.retry_after_s

    runtime, retry_after = run(scenario, max_queued=2)
    assert retry_after == 0.5
    assert runtime.calls == [["hold"], ["one"]]


def test_engine_failure_fails_its_batch_and_the_worker_goes_on() -> None:
    async def scenario(model: FakeModel, worker: ModelWorker) -> None:
        model.runtime.fail_on = "bad"
        with pytest.raises(EngineError):
            await worker.submit(work(model, "bad"), short=True, timeout_s=None)
        result = await worker.submit(work(model, "good"), short=True, timeout_s=None)
        assert result.prompt_tokens == 1 and len(result.values) == 1
        assert worker.stats.queued == 0

    run(scenario)


def test_a_sequence_the_context_cannot_hold_fails_its_request_alone() -> None:
    async def scenario(model: FakeModel, worker: ModelWorker) -> list[int]:
        model.runtime.n_ctx = 8
        held = await hold(model, worker)
        too_long = worker.submit(work(model, "fits", "w " * 9), short=True, timeout_s=None)
        kept = worker.submit(work(model, "kept"), short=True, timeout_s=None)
        model.runtime.gate.set()
        await held
        with pytest.raises(EngineError, match="9 tokens does not fit a context of 8"):
            await too_long
        outcome = await kept
        return [worker.stats.queued, len(outcome.values)]

    runtime, counts = run(scenario)
    assert runtime.calls == [["hold"], ["kept"]]  # the half-added request left nothing behind
    assert counts == [0, 1]


def test_the_background_lane_waits_for_both_live_lanes() -> None:
    """Batch work queued first is admitted last: documents and queries queued after it go before it."""

    async def scenario(model: FakeModel, worker: ModelWorker) -> list[str]:
        held = await hold(model, worker)
        done: list[str] = []
        batch = worker.submit(work(model, "batch b b b"), short=False, timeout_s=None, background=True)
        doc = worker.submit(work(model, "doc d d d"), short=False, timeout_s=None)
        query = worker.submit(work(model, "query q q q"), short=True, timeout_s=None)
        for name, job in (("batch", batch), ("doc", doc), ("query", query)):
            job.add_done_callback(lambda _, name=name: done.append(name))
        model.runtime.gate.set()
        await asyncio.gather(held, batch, doc, query)
        return done

    runtime, done = run(scenario, step_tokens=4)
    assert runtime.calls == [["hold"], ["query q q q"], ["doc d d d"], ["batch b b b"]]
    assert done == ["query", "doc", "batch"]


def test_background_work_takes_no_live_queue_slot() -> None:
    """A batch bounds its own work; with it queued, live requests still get every slot of `max_queued`."""

    async def scenario(model: FakeModel, worker: ModelWorker) -> None:
        held = await hold(model, worker)
        batch = [worker.submit(work(model, f"b{i}"), short=False, timeout_s=None, background=True) for i in range(4)]
        live = [worker.submit(work(model, f"l{i}"), short=True, timeout_s=None) for i in range(2)]
        with pytest.raises(ResourceExhaustedError):
            worker.submit(work(model, "over"), short=True, timeout_s=None)
        model.runtime.gate.set()
        await asyncio.gather(held, *batch, *live)
        assert worker.stats.queued == 0

    run(scenario, max_queued=3)
