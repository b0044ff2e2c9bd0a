"""`python -m bench.layouts FILE`: which engine layout is fastest on this machine, measured.

The tuning record behind EngineSettings' defaults (docs/engine-tuning.md): the same
documents through the real engine (`load_model` + `Model.run`, the Stepper) with one
thing changed per row - tokens per decode step (one 512-token step packs four documents,
smaller steps split them), flash attention, threads, and two contexts side by side with
one thread each (ctypes lets go of the GIL inside llama_decode, so two Python threads run
two decodes at once) - and, beside each row's tokens/s, the p50 of one short query at a
time on the idle engine, since a layout that speeds documents must not slow queries.
Rows run twice, interleaved, because a shared machine drifts. `--busy` keeps one core busy
with another process meanwhile, as co-located work would. `--torch-python` names an
interpreter with torch and transformers (never this project's): PyTorch then embeds the
same token ids in each round (bench/torch_ref.py), so the engine is compared with it in
the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from bench import sections
from bench.corpus import build_corpus
from bench.engine_loop import DOCUMENT, query_latency
from bench.torch_ref import BATCH
from router.types import EngineSettings
from service.core.values import PreparedInput
from service.engine import Model, load_model
from service.core.resources import available_cpus


@dataclass(frozen=True)
class Layout:
    name: str
    settings: EngineSettings
    contexts: int = 1


@dataclass(frozen=True)
class Measured:
    tok_per_s: float
    query_p50_ms: float


def layouts(cpus: int) -> list[Layout]:
    base = EngineSettings(n_ctx=2048, n_threads=cpus)
    rows = [
        Layout(f"step {n} tokens{', flash attention' if fa else ''}", replace(base, n_batch=n, flash_attn=fa))
        for n in (64, 128, 256)
        for fa in (False, True)
    ]
    rows.append(Layout("step 512 tokens, flash attention", replace(base, n_batch=512, flash_attn=True)))
    if cpus > 1:
        one = replace(base, n_batch=128, n_threads=1, flash_attn=True)
        rows.append(Layout("step 128, flash attention, 1 thread", one))
        rows.append(Layout(f"step 128, flash attention, {cpus} contexts x 1 thread", one, cpus))
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


def measure(
    path: Path, layout: Layout, texts: Sequence[str], queries: Sequence[str] = (), busy: bool = False
) -> Measured:
    """Tokens per second of `layout` over `texts` (after one warm-up pass over two of them), and
    the p50 of `queries` one at a time on the first context once it is idle."""
    models = [load_model(path, layout.settings) for _ in range(layout.contexts)]
    try:
        items = [models[0].prepare_embed(text, DOCUMENT) for text in texts]
        _run_all(models, items[: 2 * layout.contexts])
        with busy_core(busy):
            started = time.perf_counter()
            _run_all(models, items)
            seconds = time.perf_counter() - started
            p50 = query_latency(models[0], queries).p50_ms if queries else float("nan")
    finally:
        for model in models:
            model.close()
    return Measured(sum(len(item.tokens) for item in items) / seconds, p50)


def token_ids(path: Path, texts: Sequence[str]) -> list[list[int]]:
    """The token ids the engine embeds for `texts` as documents (template and end token included)."""
    model = load_model(path, EngineSettings(n_ctx=2048))
    try:
        return [list(model.prepare_embed(text, DOCUMENT).tokens) for text in texts]
    finally:
        model.close()


def torch_bf16(python: str, path: Path, ids: Path, threads: int) -> float:
    """PyTorch bf16's tokens/s over the token ids in `ids`, run by another interpreter."""
    run = subprocess.run(
        [python, "-m", "bench.torch_ref", str(path), str(ids), "--threads", str(threads)],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent.parent,
    )
    return float(json.loads(run.stdout)["bf16"]["tok_per_s"])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.layouts", description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--docs", type=int, default=16)
    parser.add_argument("--threads", type=int, default=available_cpus(), help="threads of the full-width rows")
    parser.add_argument("--busy", action="store_true", help="keep one core busy with another process")
    parser.add_argument("--queries", type=int, default=10, help="short queries timed one at a time per row")
    parser.add_argument("--torch-python", help="an interpreter with torch and transformers: a PyTorch bf16 row")
    parser.add_argument("--out", type=Path, default=None, help="write the table as this benchmark's section of that file")
    args = parser.parse_args()
    corpus = build_corpus(args.docs, args.queries)
    rows = layouts(args.threads)
    results: dict[str, list[Measured]] = {row.name: [] for row in rows}
    torch_row = f"PyTorch bf16, batch of {BATCH}, {args.threads} threads"
    with tempfile.TemporaryDirectory() as tmp:
        ids = Path(tmp) / "ids.json"
        if args.torch_python:
            ids.write_text(json.dumps(token_ids(args.file, corpus.documents)))
        load = [os.getloadavg()[0]]
        for _ in range(2):
            for row in rows:
                results[row.name].append(measure(args.file, row, corpus.documents, corpus.queries, args.busy))
            if args.torch_python:
                speed = torch_bf16(args.torch_python, args.file, ids, args.threads)
                results.setdefault(torch_row, []).append(Measured(speed, float("nan")))
        load.append(os.getloadavg()[0])
    lines = [
        f"{args.file.name}, {args.docs} documents of {corpus.doc_tokens} tokens (+1 end token), {args.threads} threads"
        f"{', one core busy' if args.busy else ''}; load average {load[0]:.2f} at start, {load[1]:.2f} at end; "
        f"query p50: {args.queries} queries of {corpus.query_tokens} tokens one at a time on the idle engine.",
        "",
        "| layout | tok/s, run 1 | tok/s, run 2 | query p50 ms, run 1 | query p50 ms, run 2 |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, runs in results.items():
        speeds = " | ".join(f"{run.tok_per_s:.1f}" for run in runs)
        p50s = " | ".join("-" if math.isnan(run.query_p50_ms) else f"{run.query_p50_ms:.1f}" for run in runs)
        lines.append(f"| {name} | {speeds} | {p50s} |")
    print("\n".join(lines))
    if args.out:
        heading = f"## Engine layouts on this CPU (`python -m bench.layouts`), `{args.file.name}`"
        why = "What these rows decided, and why a CPU keeps unfused attention: docs/engine-tuning.md, sections 2 and 11."
        body = "\n".join([heading, "", *lines, "", why])
        sections.replace(args.out, "bench.layouts", sections.section("bench.layouts", body))


if __name__ == "__main__":
    main()
