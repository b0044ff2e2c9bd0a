"""`python -m bench.kv_streams FILE`: would attention over a sequence's own cells pay on this machine?

The service runs one unified KV cache (docs/engine-tuning.md, sections 2 and 9): every token of a
decode attends over all the cells in use, the other sequences' masked. llama.cpp's other layout,
`kv_unified=false`, gives each sequence a stream of its own cells, so a token attends to its own
sequence only - but each stream holds n_ctx / n_seq_max cells, and a decode's sequences must be
whole and cut into equal pieces. This measures that trade on the raw llama.cpp API, outside the
Stepper: documents of one length (the issue's 123 tokens), 1-8 whole documents a decode, unified
or per-sequence streams, flash attention off or on, the cells cleared after each decode. Rows run
twice, interleaved. `--torch-python` names an interpreter with torch and transformers: PyTorch
bf16 embeds the same token ids in each round (bench/torch_ref.py).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import llama_cpp
import numpy as np

from bench.layouts import torch_bf16
from bench.torch_ref import BATCH
from service.core.resources import available_cpus
from service.engine.llama_backend import ensure_backend

STREAM_CELLS = 256
"""Cells per stream: llama.cpp pads n_ctx / n_seq_max up to a multiple of 256."""


@dataclass(frozen=True)
class Row:
    name: str
    per_decode: int
    unified: bool
    flash_attn: bool


ROWS = [
    *(Row(f"unified, {n} document{'s' if n > 1 else ''} a decode", n, True, False) for n in (1, 2, 4, 8)),
    *(Row(f"streams, {n} documents a decode", n, False, False) for n in (2, 4, 8)),
    Row("unified, 1 document a decode, flash attention", 1, True, True),
    Row("unified, 4 documents a decode, flash attention", 4, True, True),
    Row("streams, 4 documents a decode, flash attention", 4, False, True),
]


def context(model: llama_cpp.llama_model_p, row: Row, step: int, threads: int) -> llama_cpp.llama_context_p:
    params = llama_cpp.llama_context_default_params()
    params.n_ctx = max(2048, row.per_decode * STREAM_CELLS) if row.unified else row.per_decode * STREAM_CELLS
    params.n_batch = params.n_ubatch = step
    params.n_seq_max = row.per_decode
    params.n_threads = params.n_threads_batch = threads
    params.embeddings = False  # as the service: the last token's hidden state, no pooling
    params.kv_unified = row.unified
    params.flash_attn_type = (
        llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED if row.flash_attn else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
    )
    ctx = llama_cpp.llama_init_from_model(model, params)
    if not ctx:
        raise RuntimeError(f"llama.cpp could not make a context for {row.name!r}")
    return ctx


def tokens_per_second(ctx: llama_cpp.llama_context_p, docs: Sequence[Sequence[int]], per: int, step: int) -> float:
    """Whole documents, `per` a decode, sequence ids 0..per-1 (a stream split needs them in order)."""
    memory = llama_cpp.llama_get_memory(ctx)
    batch = llama_cpp.llama_batch_init(step, 0, 1)
    try:
        started = time.perf_counter()
        for first in range(0, len(docs), per):
            n = 0
            for seq, doc in enumerate(docs[first : first + per]):
                for pos, token in enumerate(doc):
                    batch.token[n], batch.pos[n], batch.n_seq_id[n] = token, pos, 1
                    batch.seq_id[n][0] = seq
                    batch.logits[n] = pos == len(doc) - 1
                    n += 1
            batch.n_tokens = n
            if llama_cpp.llama_decode(ctx, batch) != 0:
                raise RuntimeError("llama_decode failed")
            llama_cpp.llama_memory_clear(memory, True)
        return sum(len(doc) for doc in docs) / (time.perf_counter() - started)
    finally:
        llama_cpp.llama_batch_free(batch)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.kv_streams", description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--docs", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=123, help="tokens per document")
    parser.add_argument("--threads", type=int, default=available_cpus())
    parser.add_argument("--torch-python", help="an interpreter with torch and transformers: a PyTorch bf16 row")
    args = parser.parse_args()
    docs = np.random.default_rng(0).integers(1000, 50000, (args.docs, args.tokens)).tolist()
    ensure_backend()
    params = llama_cpp.llama_model_default_params()
    params.load_mode = llama_cpp.LLAMA_LOAD_MODE_NONE
    model = llama_cpp.llama_model_load_from_file(str(args.file).encode(), params)
    if not model:
        raise SystemExit(f"llama.cpp could not load {args.file}")
    results: dict[str, list[float]] = {row.name: [] for row in ROWS}
    torch_row = f"PyTorch bf16, batch of {BATCH}"
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        ids = Path(tmp) / "ids.json"
        ids.write_text(json.dumps(docs))
        for _ in range(2):
            for row in ROWS:
                step = -(-args.tokens * row.per_decode // 32) * 32
                ctx = context(model, row, step, args.threads)
                tokens_per_second(ctx, docs[: row.per_decode], row.per_decode, step)  # warm-up
                results[row.name].append(tokens_per_second(ctx, docs, row.per_decode, step))
                llama_cpp.llama_free(ctx)
            if args.torch_python:
                results.setdefault(torch_row, []).append(torch_bf16(args.torch_python, args.file, ids, args.threads))
    llama_cpp.llama_model_free(model)
    load.append(os.getloadavg()[0])
    print(f"{args.file.name}, {args.docs} documents of {args.tokens} tokens, {args.threads} threads; "
          f"load average {load[0]:.2f} at start, {load[1]:.2f} at end")
    print("| layout | tok/s, run 1 | tok/s, run 2 |")
    print("| --- | ---: | ---: |")
    for name, speeds in results.items():
        print(f"| {name} | {speeds[0]:.1f} | {speeds[1]:.1f} |")


if __name__ == "__main__":
    main()
