"""The raw engine, no gRPC: what the service is measured against.

The settings grid (decode step n_batch, threads) runs on a sample of the documents and
the best setting then runs them all, so the service is compared with the best the
engine alone does on this machine, not with its defaults.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from bench.corpus import Corpus
from bench.timing import Latency
from router.types import EngineSettings
from service.core.values import EmbedOptions
from service.engine import Model, load_model

N_BATCHES = (32, 64, 128, 512)
"""Tokens per decode step (EngineSettings.n_batch); the service's CPU default is 64."""
GROUP = 64
"""Texts handed to one `embed` call; the engine's Stepper runs them in decodes of n_batch tokens."""

DOCUMENT = EmbedOptions(input_type="document")
QUERY = EmbedOptions(input_type="query")


@dataclass(frozen=True)
class EngineRun:
    n_batch: int
    n_threads: int
    n_docs: int
    n_tokens: int
    seconds: float

    @property
    def tok_per_s(self) -> float:
        return self.n_tokens / self.seconds

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tok_per_s": self.tok_per_s}


def thread_options(cpus: int) -> list[int]:
    """All cores, and one fewer: on a small machine a spare core for the OS can win."""
    return sorted({cpus, max(cpus - 1, 1)}, reverse=True)


def embed_all(model: Model, texts: Sequence[str], options: EmbedOptions = DOCUMENT) -> int:
    """Embeds `texts` in groups of GROUP; returns the tokens that went through the model."""
    tokens = 0
    for start in range(0, len(texts), GROUP):
        tokens += sum(e.n_tokens for e in model.embed(texts[start : start + GROUP], options))
    return tokens


def time_embed(path: Path, settings: EngineSettings, texts: Sequence[str]) -> EngineRun:
    model = load_model(path, settings)
    try:
        embed_all(model, texts[:2])  # first decode allocates and touches the buffers
        started = time.perf_counter()
        tokens = embed_all(model, texts)
        seconds = time.perf_counter() - started
    finally:
        model.close()
    return EngineRun(settings.n_batch, settings.n_threads, len(texts), tokens, seconds)


def grid(path: Path, base: EngineSettings, sample: Sequence[str], threads: Sequence[int]) -> list[EngineRun]:
    return [
        time_embed(path, replace(base, n_batch=n_batch, n_threads=n_threads), sample)
        for n_threads in threads
        for n_batch in N_BATCHES
    ]


def query_latency(model: Model, queries: Sequence[str]) -> Latency:
    """One query per call, back to back, as an idle service would see them."""
    model.embed(queries[:1], QUERY)
    seconds = []
    for query in queries:
        started = time.perf_counter()
        model.embed([query], QUERY)
        seconds.append(time.perf_counter() - started)
    return Latency.of(seconds)


@dataclass(frozen=True)
class EngineResult:
    grid: list[EngineRun]
    best: EngineRun
    settings: EngineSettings
    """The best grid point's settings: every full run uses them."""
    full: EngineRun
    idle_query: Latency

    def to_dict(self) -> dict[str, Any]:
        return {
            "grid": [run.to_dict() for run in self.grid],
            "best": self.best.to_dict(),
            "full": self.full.to_dict(),
            "idle_query": self.idle_query.to_dict(),
        }


def run_engine(path: Path, base: EngineSettings, corpus: Corpus, *, sample: int, threads: Sequence[int]) -> EngineResult:
    runs = grid(path, base, corpus.documents[:sample], threads)
    best = max(runs, key=lambda run: run.tok_per_s)
    settings = replace(base, n_batch=best.n_batch, n_threads=best.n_threads)
    full = time_embed(path, settings, corpus.documents)
    model = load_model(path, settings)
    try:
        idle = query_latency(model, corpus.queries)
    finally:
        model.close()
    return EngineResult(runs, best, settings, full, idle)
