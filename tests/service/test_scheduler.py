"""The model worker's queue rules, on a fake model that records every engine call.

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
import pytest

from service.engine.types import EmbedOptions, Embedding, PreparedInput
from service.errors import DeadlineExceededError, EngineError, ResourceExhaustedError
from service.scheduler import EmbedWork, ModelWorker

T = TypeVar("T")


@dataclass
class FakeDescription:
    model_id: str = "fake"


@dataclass
class FakeModel:
    """Tokens = words; `gate` holds the worker inside the engine call whose first text is "hold"."""

    description: FakeDescription = field(default_factory=FakeDescription)
    n_ctx: int = 512
    calls: list[list[str]] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)
    entered: threading.Event = field(default_factory=threading.Event)
    fail_on: str = ""

    def prepare_embed(self, text: str, options: EmbedOptions, field: str) -> PreparedInput:
        """One token per word, each the text's number, so the engine call can name its texts."""
        self.texts.append(text)
        n_words = len(text.split())
        return PreparedInput(tokens=[len(self.texts) - 1] * n_words, n_user_tokens=n_words, truncated=False)

    def embed_prepared(self, items: Sequence[PreparedInput], options: EmbedOptions) -> list[Embedding]:
        texts = [self.texts[item.tokens[0]] for item in items]
        self.calls.append(texts)
        if texts[0] == "hold":
            self.entered.set()
            self.gate.wait(10)
        if self.fail_on in texts:
            raise EngineError("llama_decode failed")
        return [Embedding(np.zeros(4, np.float32), len(item.tokens), False) for item in items]

    def close(self) -> None:
        pass

    texts: list[str] = field(default_factory=list)


def work(model: FakeModel, *texts: str, options: EmbedOptions | None = None) -> EmbedWork:
    return EmbedWork(list(texts), options or EmbedOptions(), [f"inputs[{i}]" for i in range(len(texts))])


def run(test: Callable[[FakeModel, ModelWorker], Awaitable[T]], **limits: Any) -> tuple[FakeModel, T]:
    model = FakeModel()
    settings = {"max_queued": 100, "max_batch_tokens": 1000, "retry_after_s": 0.5, **limits}
    worker = ModelWorker(model, **settings)  # type: ignore[arg-type]

    async def main() -> T:
        try:
            return await test(model, worker)
        finally:
            model.gate.set()
            await asyncio.to_thread(worker.close, 5)

    return model, asyncio.run(main())


async def hold(model: FakeModel, worker: ModelWorker) -> asyncio.Future[Any]:
    """Parks the worker inside an engine call until `model.gate` is set."""
    held = worker.submit(work(model, "hold"), short=True, timeout_s=None)
    await asyncio.to_thread(model.entered.wait, 5)
    return held


def test_equal_options_are_coalesced_into_one_call() -> None:
    async def scenario(model: FakeModel, worker: ModelWorker) -> None:
        held = await hold(model, worker)
        futures = [worker.submit(work(model, f"t{i}"), short=True, timeout_s=None) for i in range(5)]
        model.gate.set()
        await asyncio.gather(held, *futures)

    model, _ = run(scenario)
    assert model.calls == [["hold"], ["t0", "t1", "t2", "t3", "t4"]]


def test_token_budget_splits_batches() -> None:
    async def scenario(model: FakeModel, worker: ModelWorker) -> None:
        held = await hold(model, worker)
        futures = [worker.submit(work(model, f"a{i} b c d"), short=True, timeout_s=None) for i in range(5)]
        model.gate.set()
        await asyncio.gather(held, *futures)

    model, _ = run(scenario, max_batch_tokens=10)  # 4 tokens each: two fit, the third does not
    assert [len(c) for c in model.calls] == [1, 2, 2, 1]


def test_different_options_are_not_mixed() -> None:
    async def scenario(model: FakeModel, worker: ModelWorker) -> None:
        held = await hold(model, worker)
        short = EmbedOptions(dimensions=32)
        futures = [
            worker.submit(work(model, "d1"), short=True, timeout_s=None),
            worker.submit(work(model, "q1", options=short), short=True, timeout_s=None),
            worker.submit(work(model, "q2", options=short), short=True, timeout_s=None),
        ]
        model.gate.set()
        await asyncio.gather(held, *futures)

    model, _ = run(scenario)
    assert model.calls == [["hold"], ["d1"], ["q1", "q2"]]


def test_cancelled_and_expired_work_never_reaches_the_engine() -> None:
    async def scenario(model: FakeModel, worker: ModelWorker) -> None:
        held = await hold(model, worker)
        cancelled = worker.submit(work(model, "gone"), short=True, timeout_s=None)
        expired = worker.submit(work(model, "late"), short=True, timeout_s=0.0)
        kept = worker.submit(work(model, "kept"), short=True, timeout_s=None)
        cancelled.cancel()
        await asyncio.sleep(0.01)
        model.gate.set()
        await asyncio.gather(held, kept)
        with pytest.raises(DeadlineExceededError):
            await expired
        assert worker.stats.skipped == 2

    model, _ = run(scenario)
    assert model.calls[1:] == [["kept"]]


def test_short_lane_goes_first() -> None:
    async def scenario(model: FakeModel, worker: ModelWorker) -> None:
        held = await hold(model, worker)
        long_job = worker.submit(work(model, "doc"), short=False, timeout_s=None)
        short_job = worker.submit(work(model, "query"), short=True, timeout_s=None)
        model.gate.set()
        await asyncio.gather(held, long_job, short_job)

    model, _ = run(scenario, max_batch_tokens=1)  # no coalescing: the order is the lane order
    assert model.calls == [["hold"], ["query"], ["doc"]]


def test_full_queue_is_refused_at_once() -> None:
    async def scenario(model: FakeModel, worker: ModelWorker) -> float:
        held = await hold(model, worker)
        queued = worker.submit(work(model, "one"), short=True, timeout_s=None)
        with pytest.raises(ResourceExhaustedError) as refused:
            worker.submit(work(model, "two"), short=True, timeout_s=None)
        model.gate.set()
        await asyncio.gather(held, queued)
        return refused.value.retry_after_s

    model, retry_after = run(scenario, max_queued=2)
    assert retry_after == 0.5
    assert model.calls == [["hold"], ["one"]]


def test_engine_failure_fails_its_batch_and_the_worker_goes_on() -> None:
    async def scenario(model: FakeModel, worker: ModelWorker) -> None:
        model.fail_on = "bad"
        with pytest.raises(EngineError):
            await worker.submit(work(model, "bad"), short=True, timeout_s=None)
        result = await worker.submit(work(model, "good"), short=True, timeout_s=None)
        assert result.prompt_tokens == 1 and len(result.values) == 1
        assert worker.stats.queued == 0

    run(scenario)
