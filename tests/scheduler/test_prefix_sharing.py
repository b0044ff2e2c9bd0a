"""Requests through the model's worker share a prefix: a RerankStream's chunks decode the query once.

The chunks are separate jobs, as `Application.rerank_stream` submits them (one RerankWork
per chunk, each with its index offset), on the real reranker files; a worker with sharing
off gives the scores to compare with.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from service.app.work import RerankWork
from router.types import EngineSettings
from service.engine import load_model
from service.scheduler import ModelWorker
from tests.conftest import SynthModels

QUERY = "Which bridge crosses the river by the mill?"
LINES = [f"line {i}: the river bends past the mill and the old stone bridge." for i in range(10)]
CHUNKS = [
    ["The stone bridge by the mill.", " ".join(LINES), "A cat sleeps on the warm mat."],
    ["Bridges of the river, counted from the sea.", " ".join(LINES[:4])],
    [" ".join(LINES[2:9]), "mill"],
]


@dataclass
class Tokens:
    """A WorkerObserver that adds up the tokens of every decode."""

    decoded: list[int] = field(default_factory=list)

    def queue_depth(self, depth: int) -> None:
        pass

    def waited(self, seconds: float) -> None:
        pass

    def batch(self, n_items: int, n_tokens: int) -> None:
        self.decoded.append(n_tokens)


def worker(path: Path, share: bool) -> Iterator[tuple[ModelWorker, Tokens]]:
    model = load_model(path, EngineSettings(n_ctx=1024, n_batch=64, share_prefixes=share))
    running = ModelWorker(model, max_queued=64, retry_after_s=0.1)
    running.observer = tokens = Tokens()
    yield running, tokens
    running.close()


async def rerank_stream(running: ModelWorker) -> tuple[list[float], int]:
    offsets = np.cumsum([0] + [len(chunk) for chunk in CHUNKS[:-1]])
    jobs = [
        running.submit(RerankWork(QUERY, chunk, None, False, int(offset)), short=False, timeout_s=60)
        for chunk, offset in zip(CHUNKS, offsets, strict=True)
    ]
    outcomes = await asyncio.gather(*jobs)
    return [score for outcome in outcomes for score in outcome.values], sum(o.prompt_tokens for o in outcomes)


@pytest.mark.parametrize("form", ["reranker_cls", "reranker_lm"])
def test_a_rerank_streams_chunks_share_one_prefix(synth_models: SynthModels, form: str) -> None:
    path = getattr(synth_models, form)["F32"]
    results = {}
    for share in (True, False):
        for running, tokens in worker(path, share):
            scores, prompt_tokens = asyncio.run(rerank_stream(running))
            shared = running.model.prepare_rerank(QUERY, "x", None, False).n_shared
            results[share] = (np.array(scores), sum(tokens.decoded), prompt_tokens, shared)
    (on, decoded_on, prompt_on, shared), (off, decoded_off, prompt_off, _) = results[True], results[False]
    n_docs = sum(len(chunk) for chunk in CHUNKS)
    assert prompt_on == prompt_off == decoded_off  # Usage reports the prompt whole either way
    assert decoded_on == decoded_off - (n_docs - 1) * shared  # the query's prefix once for the whole stream
    print(f"\n{form}: worst |dp| {np.abs(on - off).max():.3g}")
    np.testing.assert_allclose(on, off, atol=1e-4)
    assert len(set(np.round(off, 6))) == n_docs
