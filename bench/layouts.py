"""`python -m bench.layouts FILE`: which engine layout is fastest on this machine, measured.

The tuning record behind EngineSettings' defaults (docs/engine-tuning.md): the same
documents through the real engine (`load_model` + `Model.run`, the Stepper) with one
thing changed per row - tokens per decode step (one 512-token step packs four documents,
smaller steps split them), flash attention, threads, and two contexts side by side with
one thread each (ctypes lets go of the GIL inside llama_decode, so two Python threads run
two decodes at once). Rows run twice, interleaved, because a shared machine drifts.
`--busy` keeps one core busy with another process meanwhile, as co-located work would.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from bench.corpus import build_corpus
from bench.engine_loop import DOCUMENT
from router.types import EngineSettings
from service.core.values import PreparedInput
from service.engine import Model, load_model
from service.core.resources import available_cpus


@dataclass(frozen=True)
class Layout:
    name: str
    settings: EngineSettings
    contexts: int = 1


def layouts(cpus: int) -> list[Layout]:
    base = EngineSettings(n_ctx=2048, n_threads=cpus)
    rows = [Layout(f"step {n} tokens", replace(base, n_batch=n)) for n in (32, 64, 128, 256, 512)]
    rows.append(Layout("step 64, flash attention", replace(base, n_batch=64, flash_attn=True)))
    if cpus > 1:
        rows.append(Layout("step 64, 1 thread", replace(base, n_batch=64, n_threads=1)))
        rows.append(Layout(f"step 64, {cpus} contexts x 1 thread", replace(base, n_batch=64, n_threads=1), cpus))
    return rows


def _run_all(models: Sequence[Model], items: Sequence[PreparedInput]) -> None:
    """Each model embeds its share of `items` on its own thread."""
    shares = [items[i :: len(models)] for i in range(len(models))]
    threads = [threading.Thread(target=m.run, args=(share,)) for m, share in zip(models, shares, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@contextmanager
def busy_core(busy: bool) -> Iterator[None]:
    """A spinning process beside the measurement, or nothing."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        yield
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()


def measure(path: Path, layout: Layout, texts: Sequence[str], busy: bool = False) -> float:
    """Tokens per second of `layout` over `texts` (after one warm-up pass over two of them)."""
    models = [load_model(path, layout.settings) for _ in range(layout.contexts)]
    try:
        items = [models[0].prepare_embed(text, DOCUMENT) for text in texts]
        _run_all(models, items[: 2 * layout.contexts])
        with busy_core(busy):
            started = time.perf_counter()
            _run_all(models, items)
            seconds = time.perf_counter() - started
    finally:
        for model in models:
            model.close()
    return sum(len(item.tokens) for item in items) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.layouts", description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--docs", type=int, default=16)
    parser.add_argument("--threads", type=int, default=available_cpus(), help="threads of the full-width rows")
    parser.add_argument("--busy", action="store_true", help="keep one core busy with another process")
    args = parser.parse_args()
    corpus = build_corpus(args.docs, 1)
    rows = layouts(args.threads)
    results: dict[str, list[float]] = {row.name: [] for row in rows}
    load = [os.getloadavg()[0]]
    for _ in range(2):
        for row in rows:
            results[row.name].append(measure(args.file, row, corpus.documents, args.busy))
    load.append(os.getloadavg()[0])
    print(f"{args.file.name}, {args.docs} documents of {corpus.doc_tokens} tokens (+1 end token)"
          f"{', one core busy' if args.busy else ''}; load average {load[0]:.2f} at start, {load[1]:.2f} at end")
    print("| layout | tok/s, run 1 | tok/s, run 2 |")
    print("| --- | ---: | ---: |")
    for name, speeds in results.items():
        print(f"| {name} | {speeds[0]:.1f} | {speeds[1]:.1f} |")


if __name__ == "__main__":
    main()
