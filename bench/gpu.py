"""`python -m bench.gpu`: the GPU rows of BENCHMARKS.md, on the card present, in one run.

Run by scripts/gpu-check.sh on an NVIDIA node (offline, with the CUDA build of the vendored
llama.cpp): the service at the router's defaults, the same service with other engine layouts
(the one before issue #27, and other step lengths), llama-server from the same build on the same
files, and PyTorch bf16 (transformers' Qwen3Model, SDPA) on the same shape. Each step records its
figures or its error in OUT/gpu.json, so one failure hides nothing else; OUT/gpu-section.md is the
section for BENCHMARKS.md. Steps: card, route, estimate_and_parity (phase 1), service_default,
service_layouts, llama_server_embed, llama_server_rerank, torch_bf16 (phase 2); `ONLY` picks some.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import service.engine  # noqa: F401  (libllama before numpy: service/cli.py:_serve says why)
from bench import sections
from bench.service_load import ServerProcess

SECTION = "bench.gpu"
DOC_WORDS = 110
"""About 123 tokens a document with the synthetic vocabulary, as the H200 figures of issue #27."""
N_DOCS = int(os.environ.get("GPU_BENCH_DOCS", "2048"))
"""2,048 documents a workload on a card; fewer for a smoke run of this script on a CPU."""
PER_CALL = 32
WORDS = (
    "river mountain engine signal market window garden theory number letter yellow simple doctor planet silver "
    "winter harbor castle forest bridge summer orange pencil violin rocket island coffee spider marble thunder"
).split()
QUERY = "which passage talks about the mountain river near the garden?"
LAYOUTS: dict[str, list[str]] = {
    "before #27 (512-token steps, 16 sequences, no flash attention)": [
        "--step-tokens", "512", "--max-sequences", "16", "--flash-attention", "off",
    ],
    "2,048-token steps": ["--step-tokens", "2048"],
    "8,192-token steps": ["--step-tokens", "8192"],
}
"""Beside the default: the layout this issue replaced, and the step lengths around the default's."""


def document(i: int, words: int = DOC_WORDS) -> str:
    return " ".join(WORDS[(i * 7 + j * 3 + (i * j) % 5) % len(WORDS)] for j in range(words)) + f" {i}"


DOCS = [document(i) for i in range(N_DOCS)]
RERANK_DOCS = [document(100_000 + i, 40) for i in range(100)]


class Run:
    """The steps' results, written to OUT/gpu.json after each step."""

    def __init__(self, out: Path, only: set[str]) -> None:
        self.out = out
        self.only = only
        self.results: dict[str, Any] = {}

    def step(self, name: str, fn: Callable[[], Any]) -> None:
        if self.only and name not in self.only:
            return
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        try:
            self.results[name] = fn()
        except Exception as exc:  # noqa: BLE001 - every step is independent; the error is the result
            self.results[name] = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-3000:]}
        self.results.setdefault("seconds", {})[name] = round(time.perf_counter() - started, 1)
        print(f"   {json.dumps(self.results[name], default=str)[:900]}", flush=True)
        (self.out / "gpu.json").write_text(json.dumps(self.results, indent=1, default=str))


def pooled(fn: Callable[[Any], int], items: Sequence[Any], clients: int) -> tuple[float, int]:
    """`fn` over `items` from `clients` threads; (seconds, the sum of what fn returned)."""
    queue = list(reversed(items))
    lock = threading.Lock()
    total: list[int] = []
    errors: list[str] = []

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                item = queue.pop()
            try:
                total.append(fn(item))
            except Exception as exc:  # noqa: BLE001 - counted, raised below
                errors.append(repr(exc)[:300])

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} calls failed, the first: {errors[0]}")
    return time.perf_counter() - started, sum(total)


def post(conn: http.client.HTTPConnection, path: str, body: dict[str, Any]) -> Any:
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    reply = conn.getresponse()
    data = reply.read()
    if reply.status != 200:
        raise RuntimeError(f"{path}: HTTP {reply.status} {data[:300]!r}")
    return json.loads(data)


def http_embed(port: int, clients: int, per_call: int, model: str = "") -> dict[str, Any]:
    local = threading.local()

    def call(texts: list[str]) -> int:
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        reply = post(local.conn, "/v1/embeddings", {"input": texts, "model": model})
        assert len(reply["data"]) == len(texts)
        return int(reply["usage"]["prompt_tokens"])

    call(DOCS[:per_call])
    seconds, tokens = pooled(call, [DOCS[i : i + per_call] for i in range(0, len(DOCS), per_call)], clients)
    return {"tok_per_s": round(tokens / seconds), "docs_per_s": round(len(DOCS) / seconds, 1), "clients": clients}


def grpc_embed(target: str, clients: int, per_call: int) -> dict[str, Any]:
    import grpc

    from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc

    local = threading.local()

    def call(texts: list[str]) -> int:
        if not hasattr(local, "stub"):
            channel = grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", 1 << 28)])
            local.stub = embed_pb2_grpc.EmbedServiceStub(channel)
        reply = local.stub.Embed(embed_pb2.EmbedRequest(inputs=texts), timeout=600)
        return sum(e.prompt_tokens for e in reply.embeddings)

    call(DOCS[:per_call])
    seconds, tokens = pooled(call, [DOCS[i : i + per_call] for i in range(0, len(DOCS), per_call)], clients)
    return {"tok_per_s": round(tokens / seconds), "docs_per_s": round(len(DOCS) / seconds, 1), "clients": clients}


def idle_query(port: int, model: str = "", n: int = 40) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times = []
    for i in range(n):
        started = time.perf_counter()
        post(conn, "/v1/embeddings", {"input": [f"short query number {i}"], "model": model})
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(statistics.median(times), 2), "p90_ms": round(sorted(times)[int(0.9 * n)], 2)}


def rerank(port: int, clients: int, calls_each: int) -> dict[str, Any]:
    local = threading.local()

    def call(_: object) -> int:
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        reply = post(local.conn, "/v1/rerank", {"query": QUERY, "documents": RERANK_DOCS})
        assert len(reply["results"]) == len(RERANK_DOCS)
        return len(RERANK_DOCS)

    call(None)
    seconds, docs = pooled(call, list(range(clients * calls_each)), clients)
    return {"docs_per_s": round(docs / seconds, 1), "clients": clients}


def each(results: dict[str, Any], runs: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    for name, fn in runs.items():
        try:
            results[name] = fn()
        except Exception as exc:  # noqa: BLE001 - one workload's failure is its result
            results[name] = {"error": repr(exc)[:500]}
        print(f"   {name}: {results[name]}", flush=True)
    return results


def service(models: Path, out: Path, tag: str, extra: Sequence[str], full: bool) -> dict[str, Any]:
    with ServerProcess(models, out / f"embedroute-{tag}.log", threads=os.cpu_count() or 1, http=True, extra=extra) as s:
        results: dict[str, Any] = {"ready_s": round(s.startup_s, 1), "args": list(extra)}
        runs: dict[str, Callable[[], Any]] = {
            "grpc_b32_c8": lambda: grpc_embed(s.target, 8, PER_CALL),
            "idle_query": lambda: idle_query(s.http_port),
            "rerank_c8": lambda: rerank(s.http_port, 8, 1),
        }
        if full:
            runs |= {
                "grpc_b1_c32": lambda: grpc_embed(s.target, 32, 1),
                "http_b32_c8": lambda: http_embed(s.http_port, 8, PER_CALL),
                "rerank_c1": lambda: rerank(s.http_port, 1, 2),
            }
        return each(results, runs)


def llama_server(binary: str, gguf: Path, out: Path, kind: str) -> dict[str, Any]:
    port = 18080
    mode = ["--embedding", "--pooling", "last"] if kind == "embed" else ["--rerank"]
    args = [binary, "-m", str(gguf), *mode, "-ngl", "999", "-c", "65536", "-np", "16", "-b", "4096", "-ub", "4096",
            "-fa", "on", "--host", "127.0.0.1", "--port", str(port)]
    with (out / f"llama-server-{kind}.log").open("wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        try:
            started = time.perf_counter()
            while not _healthy(port):
                if process.poll() is not None or time.perf_counter() - started > 240:
                    raise RuntimeError(f"llama-server did not start; see llama-server-{kind}.log")
                time.sleep(0.5)
            results: dict[str, Any] = {"args": args[3:]}
            if kind == "embed":
                return each(results, {
                    "http_b32_c8": lambda: http_embed(port, 8, PER_CALL, "x"),
                    "http_b1_c32": lambda: http_embed(port, 32, 1, "x"),
                    "idle_query": lambda: idle_query(port, "x"),
                })
            return each(results, {"rerank_c1": lambda: rerank(port, 1, 2), "rerank_c8": lambda: rerank(port, 8, 1)})
        finally:
            process.terminate()
            process.wait(30)


def _healthy(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/health")
        return conn.getresponse().status == 200
    except OSError:
        return False


def torch_bf16() -> dict[str, Any]:
    import torch
    from transformers import Qwen3Config, Qwen3Model

    config = Qwen3Config(vocab_size=151669, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
                         num_attention_heads=16, num_key_value_heads=8, head_dim=128, max_position_embeddings=32768)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = Qwen3Model(config).eval()
    results: dict[str, Any] = {"torch": torch.__version__, "attention": model.config._attn_implementation}
    for batch in (32, 128):
        ids = torch.randint(100, 150000, (batch, 123), device="cuda")
        with torch.inference_mode():
            for _ in range(3):
                model(input_ids=ids).last_hidden_state[:, -1]
            torch.cuda.synchronize()
            started = time.perf_counter()
            for _ in range(10):
                model(input_ids=ids).last_hidden_state[:, -1]
            torch.cuda.synchronize()
        results[f"b{batch}_tok_per_s"] = round(10 * batch * 123 / (time.perf_counter() - started))
    return results


def estimate_and_parity(models: Path) -> dict[str, Any]:
    import numpy as np
    import pynvml

    from router import RouterPrefs, plan_models, probe_hardware
    from service.core.values import EmbedOptions
    from service.engine import load_model

    hardware = probe_hardware(cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"))
    (plan,) = plan_models([models / "emb"], RouterPrefs(), hardware)
    chosen = plan.chosen
    results: dict[str, Any] = {"probe": hardware.summary(), "choice": chosen.label(), "layout": chosen.layout.summary()}
    pynvml.nvmlInit()
    handle = pynvml.nvmlDeviceGetHandleByIndex(0)
    before = pynvml.nvmlDeviceGetMemoryInfo(handle).used
    texts = ["What is the capital of China?", "Explain gravity", DOCS[0], DOCS[1] * 3]
    model = load_model(chosen.description.path, chosen.settings)
    on_gpu = np.stack([e.vector for e in model.embed(texts * 10, EmbedOptions())])
    used = pynvml.nvmlDeviceGetMemoryInfo(handle).used - before
    long_on_gpu = long_vectors(model)
    model.close()
    results |= {"estimated_gpu_mib": round(chosen.estimate.gpu_bytes / 2**20), "nvml_mib": round(used / 2**20),
                "estimate_gap": round((chosen.estimate.gpu_bytes - used) / max(used, 1), 3)}
    cpu = load_model(chosen.description.path, replace(chosen.settings, n_gpu_layers=0, extra={}))
    on_cpu = np.stack([e.vector for e in cpu.embed(texts, EmbedOptions())] * 10)
    long_on_cpu = long_vectors(cpu)
    cpu.close()
    cosine = row_cosines(on_gpu, on_cpu)
    results["gpu_vs_cpu_cosine_min"] = float(cosine.min())
    results["gpu_vs_cpu_long_cosines"] = [round(float(c), 8) for c in row_cosines(long_on_gpu, long_on_cpu)]
    if chosen.device != "gpu" or abs(results["estimate_gap"]) > 0.15 or cosine.min() < 0.9999:
        results["failed"] = True
    return results


def long_vectors(model: Any) -> Any:
    """Vectors of inputs of about 1,500 and 6,000 tokens: on a CPU, ggml's flash attention drifted
    from the model on such inputs (docs/engine-tuning.md section 11), so the card's kernels are
    compared with the CPU's on them too. Reported, not a failure."""
    import numpy as np

    from service.core.values import EmbedOptions

    texts = [document(1, 1500), document(2, 6000)]
    return np.stack([e.vector for e in model.embed(texts, EmbedOptions(truncate=True))])


def row_cosines(a: Any, b: Any) -> Any:
    import numpy as np

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def section(results: dict[str, Any]) -> str:
    def get(*path: str) -> Any:
        value: Any = results
        for key in path:
            value = value.get(key, {}) if isinstance(value, dict) else {}
        return value if value != {} else "-"

    card = get("card")
    torch128 = get("torch_bf16", "b128_tok_per_s")
    ours = get("service_default", "grpc_b32_c8", "tok_per_s")
    ratio = f"{ours / torch128:.2f}x" if isinstance(ours, int) and isinstance(torch128, int) else "-"
    rows = [
        ("tokens/s, 32 documents a call, 8 clients (gRPC)", ("grpc_b32_c8", "tok_per_s"), None),
        ("tokens/s, 32 documents a call, 8 clients (HTTP float)", ("http_b32_c8", "tok_per_s"), ("http_b32_c8", "tok_per_s")),
        ("tokens/s, 1 document a call, 32 clients (gRPC; llama-server HTTP)", ("grpc_b1_c32", "tok_per_s"), ("http_b1_c32", "tok_per_s")),
        ("idle one-line query p50, ms (HTTP)", ("idle_query", "p50_ms"), ("idle_query", "p50_ms")),
        ("rerank 100 x 40-token documents, docs/s, 1 client", ("rerank_c1", "docs_per_s"), ("rerank_c1", "docs_per_s")),
        ("rerank docs/s, 8 clients", ("rerank_c8", "docs_per_s"), ("rerank_c8", "docs_per_s")),
    ]
    lines = [
        f"GPU: {card}; 0.6B-shape synthetic BF16 files (embedding, rank-head reranker), 123-token documents;",
        "llama.cpp built from the vendored source of the pinned llama-cpp-python for this card, one build for the",
        "service and llama-server (`-np 16 -b 4096 -ub 4096 -fa on`); all on one card within minutes",
        "(`scripts/gpu-check.sh`, then `python -m bench.gpu --from` its gpu.json files `--write BENCHMARKS.md`).",
        "",
        "| workload | embedroute (defaults) | llama-server (same build, same files) |",
        "|---|---:|---:|",
    ]
    for label, mine, theirs in rows:
        server = "llama_server_rerank" if "rerank" in label else "llama_server_embed"
        lines.append(f"| {label} | {get('service_default', *mine)} | {get(server, *theirs) if theirs else '-'} |")
    lines += [
        "",
        f"PyTorch bf16 (transformers Qwen3Model, same shape): {get('torch_bf16', 'b32_tok_per_s')} tokens/s at batch 32, "
        f"{torch128} at batch 128; embedroute's gRPC row is {ratio} of batch 128.",
        "",
        "| layout (same run) | tokens/s, 32 a call, 8 clients | idle query p50 ms | rerank docs/s, 8 clients |",
        "|---|---:|---:|---:|",
        f"| defaults: {get('estimate_and_parity', 'layout')} | {ours} | {get('service_default', 'idle_query', 'p50_ms')} "
        f"| {get('service_default', 'rerank_c8', 'docs_per_s')} |",
    ]
    for name, figures in get("service_layouts").items() if isinstance(get("service_layouts"), dict) else ():
        if isinstance(figures, dict):
            lines.append(
                f"| {name} | {figures.get('grpc_b32_c8', {}).get('tok_per_s', '-')} "
                f"| {figures.get('idle_query', {}).get('p50_ms', '-')} | {figures.get('rerank_c8', {}).get('docs_per_s', '-')} |"
            )
    parity = get("estimate_and_parity")
    if isinstance(parity, dict):
        lines += ["", f"Router: {parity.get('choice')}; GPU estimate {parity.get('estimated_gpu_mib')} MiB against "
                      f"{parity.get('nvml_mib')} MiB measured by NVML ({parity.get('estimate_gap')}); GPU vectors "
                      f"against CPU vectors: cosine >= {parity.get('gpu_vs_cpu_cosine_min')}; inputs of about 1,500 "
                      f"and 6,000 tokens: {parity.get('gpu_vs_cpu_long_cosines', 'not measured')}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__)
    parser.add_argument("--models", type=Path, help="folder with emb/ and rr/, one GGUF file each")
    parser.add_argument("--llama-server", default="")
    parser.add_argument("--out", type=Path, help="where gpu.json, gpu-section.md and the logs go")
    parser.add_argument("--from", dest="recorded", type=Path, nargs="+", default=[],
                        help="render the section from recorded gpu.json files (later ones win) instead of running")
    parser.add_argument("--write", type=Path, help="replace this benchmark's section of this file (BENCHMARKS.md)")
    args = parser.parse_args(argv)
    if args.recorded:
        results: dict[str, Any] = {}
        for path in args.recorded:
            results |= {k: v for k, v in json.loads(path.read_text()).items() if not _failed(v)}
    else:
        if args.models is None or args.out is None:
            parser.error("--models and --out are needed to run (or --from to render recorded results)")
        results = measure(args.models, args.llama_server, args.out)
    text = section(results)
    print(text, flush=True)
    if args.write is not None:
        sections.replace(args.write, SECTION, sections.section(SECTION, f"## GPU ({SECTION})\n\n{text}"))
    if args.recorded:
        return 0
    return 1 if any(_failed(v) for v in results.values()) else 0


def _failed(value: Any) -> bool:
    return isinstance(value, dict) and bool(value.get("error") or value.get("failed"))


def measure(models: Path, llama_server_binary: str, out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    both = models / "both"
    both.mkdir(exist_ok=True)
    for gguf in [*(models / "emb").glob("*.gguf"), *(models / "rr").glob("*.gguf")]:
        if not (both / gguf.name).exists():
            (both / gguf.name).symlink_to(gguf)
    previous = out / "gpu.json"
    run = Run(out, {s for s in os.environ.get("ONLY", "").split(",") if s})
    if previous.exists():
        run.results = json.loads(previous.read_text())  # phase 2 adds to phase 1's results
    embedder = next((models / "emb").glob("*.gguf"))
    reranker = next((models / "rr").glob("*.gguf"))
    run.step("card", lambda: subprocess.run(
        ["nvidia-smi", "--query-gpu=name,memory.total,driver_version,compute_cap", "--format=csv,noheader"],
        capture_output=True, text=True, check=True).stdout.strip())
    run.step("route", lambda: json.loads(subprocess.run(
        [sys.executable, "-m", "service.cli", "route", "--json", "--models", str(both)],
        capture_output=True, text=True, check=True).stdout)["models"])
    run.step("estimate_and_parity", lambda: estimate_and_parity(models))
    run.step("service_default", lambda: service(both, out, "default", [], full=True))
    run.step("service_layouts", lambda: {
        name: service(both, out, f"layout{i}", extra, full=False) for i, (name, extra) in enumerate(LAYOUTS.items())
    })
    run.step("llama_server_embed", lambda: llama_server(llama_server_binary, embedder, out, "embed"))
    run.step("llama_server_rerank", lambda: llama_server(llama_server_binary, reranker, out, "rerank"))
    run.step("torch_bf16", torch_bf16)
    (out / "gpu-section.md").write_text(section(run.results))
    return run.results


if __name__ == "__main__":
    raise SystemExit(main())
