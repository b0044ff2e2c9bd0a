"""Measure what llama.cpp really allocates for one GGUF, the way the engine loads it.

Run as a script in a fresh process (a clean RSS baseline):

    python -m tests.router.llama_measure FILE N_CTX

It loads the file with llama_cpp directly, using the context shape the router
assumes for the engine (router.estimate.engine_shape), captures the buffer sizes
llama.cpp logs (model, KV, compute, output), then decodes one batch of the full size
(every token an output for embedding contexts, the last token of each sequence for a
causal-LM reranker) so the buffers that grow on first use have grown, and prints JSON:
the RSS before loading, after loading and after that batch, the logged sizes, and
`llama_model_size`.
"""

from __future__ import annotations

import ctypes
import json
import re
import sys
from pathlib import Path

import llama_cpp
import psutil

from router.estimate import engine_shape
from router.plan import RouterPrefs
from service.engine.metadata import describe_gguf

_LOG: list[str] = []


@llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
def _collect(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    _LOG.append(text.decode("utf-8", errors="replace"))


def measure(path: Path, n_ctx: int) -> dict[str, float]:
    llama_cpp.llama_backend_init()
    llama_cpp.llama_log_set(_collect, ctypes.c_void_p())
    description = describe_gguf(path)
    shape = engine_shape(description, RouterPrefs(n_ctx=n_ctx))
    process = psutil.Process()
    before = process.memory_info().rss
    model = llama_cpp.llama_model_load_from_file(str(path).encode(), llama_cpp.llama_model_default_params())
    params = llama_cpp.llama_context_default_params()
    params.n_ctx = n_ctx
    params.n_batch = shape.n_batch
    params.n_ubatch = shape.n_ubatch
    params.n_seq_max = shape.n_seq_max
    params.kv_unified = True
    params.embeddings = shape.embeddings
    params.n_threads = params.n_threads_batch = 2
    if description.kind == "reranker":
        rank = shape.embeddings
        params.pooling_type = llama_cpp.LLAMA_POOLING_TYPE_RANK if rank else llama_cpp.LLAMA_POOLING_TYPE_NONE
    params.flash_attn_type = (
        llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED if shape.flash_attn else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
    )
    ctx = llama_cpp.llama_init_from_model(model, params)
    loaded = process.memory_info().rss
    logged = "".join(_LOG)
    sizes = {
        kind: 1024 * 1024 * sum(float(v) for v in re.findall(rf"{kind} buffer size = +([0-9.]+) MiB", logged))
        for kind in ("model", "KV", "compute", "output")
    }
    n_tokens = shape.n_batch
    per_seq = n_tokens // shape.n_seq_max
    batch = llama_cpp.llama_batch_init(n_tokens, 0, 1)
    for i in range(n_tokens):
        seq, pos = divmod(i, per_seq)
        batch.token[i] = 1000 + (i * 7919) % 150_000
        batch.pos[i] = pos
        batch.n_seq_id[i] = 1
        batch.seq_id[i][0] = seq
        batch.logits[i] = shape.embeddings or pos == per_seq - 1
    batch.n_tokens = n_tokens
    rc = llama_cpp.llama_decode(ctx, batch)
    after = process.memory_info().rss
    result = {
        "rc": rc,
        "rss_loaded": loaded - before,
        "rss_after_batch": after - before,
        "model_size": float(llama_cpp.llama_model_size(model)),
        **{f"logged_{k}": v for k, v in sizes.items()},
    }
    llama_cpp.llama_batch_free(batch)
    llama_cpp.llama_free(ctx)
    llama_cpp.llama_model_free(model)
    return result


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), int(sys.argv[2]))))
