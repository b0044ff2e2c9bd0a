"""Measure what one GGUF really costs once the engine has loaded it and run a full batch.

Run as a script in a fresh process (a clean RSS baseline):

    python -m tests.router.llama_measure FILE N_CTX

It loads the file through `service.engine.load_model` itself, with the settings the
router would hand the engine for that context on the CPU
(`RouterPrefs.engine_settings`), so the shape measured is the engine's real one and
not a copy of it that could drift. llama.cpp's log is captured while loading (the
buffer sizes it reports: model (the weights), KV, compute, output). Then the two worst-case decode
calls the engine can make are run, so the buffers that are only touched on first use
have been touched:

- one sequence of the whole context (n_ctx tokens; causal models split it over
  decode steps, all of it held in the KV cache), and
- n_seq_max short sequences in one decode (the most outputs one call can ask for).

It prints JSON: the RSS growth after loading and after those batches, the logged
sizes and the tokens of the longest sequence it decoded.
"""

from __future__ import annotations

import ctypes
import json
import re
import sys
from pathlib import Path

import llama_cpp
import psutil

from router.plan import RouterPrefs
from service.core.values import EmbedOptions
from service.engine import Model, load_model
from service.engine.llama_backend import ensure_backend
from router.metadata import describe_gguf

_LOG: list[str] = []
_FILLER = " ".join(f"w{i % 997} lorem{i % 89}" for i in range(20_000))
"""Far more tokens than any test context: truncation cuts it to exactly the context."""


@llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
def _collect(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    _LOG.append(text.decode("utf-8", errors="replace"))


def _worst_batches(model: Model, n_seq_max: int) -> int:
    """Runs the longest decode and the widest one; returns the longest sequence's tokens."""
    short = [f"short text {i}" for i in range(n_seq_max)]
    if model.description.kind == "embedding":
        options = EmbedOptions(truncate=True)
        longest = model.embed([_FILLER], options)[0].n_tokens
        model.embed(short, options)
        return longest
    longest = model.rerank("query", [_FILLER], truncate=True)[0].n_tokens
    model.rerank("query", short)
    return longest


def measure(path: Path, n_ctx: int) -> dict[str, float]:
    ensure_backend()
    llama_cpp.llama_log_set(_collect, ctypes.c_void_p())
    prefs = RouterPrefs(n_ctx=n_ctx)
    settings = prefs.engine_settings(describe_gguf(path), n_threads=2, n_gpu_layers=0, main_gpu=None)
    process = psutil.Process()
    before = process.memory_info().rss
    model = load_model(path, settings)
    loaded = process.memory_info().rss
    logged = "".join(_LOG)
    sizes = {
        kind: 1024 * 1024 * sum(float(v) for v in re.findall(rf"{kind} buffer size = +([0-9.]+) MiB", logged))
        for kind in ("model", "KV", "compute", "output")
    }
    longest = _worst_batches(model, settings.n_seq_max)
    after = process.memory_info().rss
    result = {
        "rss_loaded": float(loaded - before),
        "rss_after_batch": float(after - before),
        "n_ctx": float(model.n_ctx),
        "longest_sequence": float(longest),
        **{f"logged_{k}": v for k, v in sizes.items()},
    }
    model.close()
    return result


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), int(sys.argv[2]))))
