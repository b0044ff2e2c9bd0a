"""`python -m bench`: one command for the whole benchmark; see BENCHMARKS.md for the method."""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import llama_cpp

import router
from bench import report, torch_ref
from bench.corpus import Corpus, build_corpus
from bench.engine_loop import DOCUMENT, run_engine, thread_options, time_embed
from bench.rerank import engine_rerank, service_rerank
from bench.timing import Latency
from bench.service_load import ServerProcess, idle_latency, run_load, run_probed_load
from router.estimate import estimate
from router.types import EngineSettings
from service.engine import load_model
from router.metadata import describe_gguf
from service.core.resources import available_cpus
from service.prepare.synth.qwen3 import SHAPES, SynthKind, model_name

ALL_LAYERS = 999
QUICK_QUANTS = "Q8_0"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--models", type=Path, default=Path(".cache/bench-models"), help="folder of the synth files")
    parser.add_argument("--synth", action="store_true", help="write missing files with `embedroute synth`")
    parser.add_argument("--quants", default="BF16,Q8_0,Q4_K_M,IQ3_M")
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=50, help="idle latency samples")
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--probe-docs", type=int, default=0,
                        help="documents in each latency-under-load pass (default: all of --docs)")
    parser.add_argument("--rerank-docs", type=int, default=100)
    parser.add_argument("--rerank-repeats", type=int, default=3)
    parser.add_argument("--sample", type=int, default=48, help="documents per setting of the engine grid")
    parser.add_argument("--gpu", action="store_true", help="offload all layers (n_gpu_layers=999)")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--reduced", default="", help="note printed in the report when the run is a reduced one")
    parser.add_argument("--quick", action="store_true", help="tiny models, 40 documents, clients 1,4 (smoke test)")
    args = parser.parse_args(argv)
    args.shape = "0.6b"
    if args.quick:
        args.shape, args.synth = "tiny", True
        args.models = args.models / "tiny"
        args.quants = QUICK_QUANTS if args.quants == parser.get_default("quants") else args.quants
        args.docs, args.queries, args.clients, args.probe_docs = 40, 20, "1,4", 20
        args.rerank_docs, args.rerank_repeats, args.sample = 20, 2, 8
        args.reduced = args.reduced or "--quick smoke run on tiny models; the figures say nothing about real models."
    args.probe_docs = min(args.probe_docs or args.docs, args.docs)
    return args


def model_files(models: Path, shape: str, quant: str, synth: bool) -> tuple[Path | None, Path | None]:
    """(embedding file, reranker file) for one quantisation; missing ones are written with --synth."""
    found: list[Path | None] = []
    kinds: tuple[tuple[str, SynthKind], ...] = (("embedding", "embedding"), ("reranker", "reranker-cls"))
    for kind, synth_kind in kinds:
        path = models / f"{model_name(SHAPES[shape], synth_kind)}-{quant}.gguf"
        if not path.exists() and synth:
            subprocess.run(
                [sys.executable, "-m", "service.cli", "synth", "--shape", shape, "--kind", kind,
                 "--quants", quant, "--out", str(models)],
                check=True, stdout=subprocess.DEVNULL,
            )
        found.append(path if path.exists() else None)
    return found[0], found[1]


def machine() -> dict[str, Any]:
    hw = router.probe_hardware()
    return {
        "cpu": hw.cpu.model_name,
        "arch": hw.cpu.arch,
        "physical_cores": hw.cpu.physical_cores,
        "logical_cpus": hw.cpu.logical_cpus,
        "usable_cpus": available_cpus(),
        "flags": ", ".join(sorted(hw.cpu.flags)) or "-",
        "ram_gib": hw.memory_total_bytes / 1024**3,
        "gpu": "; ".join(g.summary() for g in hw.gpus) or "none",
        "python": platform.python_version(),
        "llama_cpp": llama_cpp.__version__,
        "grpc": grpc.__version__,
    }


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def bench_quant(args: argparse.Namespace, quant: str, corpus: Corpus, clients: list[int], work: Path) -> dict[str, Any] | None:
    embedding, reranker = model_files(args.models, args.shape, quant, args.synth)
    if embedding is None:
        print(f"bench: no {quant} embedding file in {args.models} (pass --synth to write it); skipped", file=sys.stderr)
        return None
    gpu_layers = ALL_LAYERS if args.gpu else 0
    base = EngineSettings(n_gpu_layers=gpu_layers)
    checker = load_model(embedding, replace(base, n_ctx=512))
    try:
        corpus.check(checker.tokenize)
    finally:
        checker.close()
    say(f"{quant}: raw engine")
    engine = run_engine(embedding, base, corpus, sample=args.sample, threads=thread_options(available_cpus()))
    threads = engine.best.n_threads
    result: dict[str, Any] = {"quant": quant, "file": str(embedding), "file_bytes": embedding.stat().st_size,
                              "engine": engine.to_dict()}
    rerank_docs = corpus.documents[: args.rerank_docs]
    rerank_engine: Latency | None = None
    if reranker is not None:
        say(f"{quant}: raw rerank")
        rerank_engine = engine_rerank(reranker, replace(base, n_threads=threads), corpus.queries[0], rerank_docs,
                                      args.rerank_repeats)
    if torch_ref.available():
        say(f"{quant}: PyTorch")
        result["torch"] = torch_ref.run_torch(embedding, _token_ids(embedding, corpus.documents[: args.sample]), threads)
    else:
        result["torch"] = {"skipped": "torch and transformers are not installed"}
    folder = work / quant
    folder.mkdir()
    served = [p for p in (embedding, reranker) if p is not None]
    for path in served:
        (folder / path.name).symlink_to(path.resolve())
    descriptions = [describe_gguf(p) for p in served]
    pins = [f"{d.model_id}={d.quant}@{'gpu' if args.gpu else 'cpu'}" for d in descriptions]
    say(f"{quant}: service")
    with ServerProcess(folder, work / f"server-{quant}.log", threads=threads, pins=pins) as server:
        model_id = descriptions[0].model_id
        idle = idle_latency(server.target, model_id, corpus.queries)
        loads = []
        for n in clients:
            say(f"{quant}: service, {n} client(s)")
            load = run_load(server.target, model_id, corpus.documents, n)
            say(f"{quant}: service, {n} client(s) with the latency probe")
            probed = run_probed_load(server.target, model_id, corpus.documents[: args.probe_docs],
                                     corpus.queries, n)
            loads.append({**load.to_dict(), "probed": probed.to_dict()})
        if reranker is not None and rerank_engine is not None:
            rerank_service = service_rerank(server.target, descriptions[1].model_id, corpus.queries[0], rerank_docs,
                                            args.rerank_repeats)
            result["rerank"] = {"n_docs": len(rerank_docs), "engine": rerank_engine.to_dict(),
                                "service": rerank_service.to_dict()}
        else:
            result["rerank_skipped"] = f"no {quant} reranker file in {args.models}"
        startup_s = server.startup_s
        peak = server.stop()
    say(f"{quant}: raw engine again")
    result["engine"]["full_after"] = time_embed(embedding, engine.settings, corpus.documents).to_dict()
    result["service"] = {"startup_s": startup_s, "idle_query": idle.to_dict(), "loads": loads,
                         "peak_rss_bytes": peak, **rss_budget(descriptions, gpu_layers)}
    result["targets"] = report.check_targets(result)
    return result


def _token_ids(path: Path, texts: list[str]) -> list[list[int]]:
    """The exact token sequences the engine embeds (template and end token included)."""
    model = load_model(path, EngineSettings(n_ctx=512))
    try:
        return [model.prepare_embed(text, DOCUMENT).tokens for text in texts]
    finally:
        model.close()


def rss_budget(descriptions: list[Any], gpu_layers: int) -> dict[str, Any]:
    prefs = router.RouterPrefs()
    estimates = [estimate(d, prefs, gpu_layers) for d in descriptions]
    parts = {
        "files_bytes": sum(d.file_size for d in descriptions),
        "kv_bytes": sum(e.kv_bytes for e in estimates),
        "compute_bytes": sum(e.compute_bytes for e in estimates),
        "output_bytes": sum(e.output_bytes for e in estimates),
    }
    return {"rss_budget_bytes": sum(parts.values()) + report.RSS_SLACK_BYTES, "estimate": parts}


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quants = [q.strip().upper() for q in args.quants.split(",") if q.strip()]
    clients = [int(c) for c in args.clients.split(",") if c.strip()]
    results: dict[str, Any] = {
        "command": shlex.join(["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)]),
        "machine": machine(), "load_start": load_average(), "gpu": args.gpu, "reduced": args.reduced,
        "n_docs": args.docs, "probe_docs": args.probe_docs, "clients": clients,
        "models": [],
    }
    corpus = build_corpus(args.docs, args.queries)
    results.update(doc_tokens=corpus.doc_tokens, query_tokens=corpus.query_tokens)
    with tempfile.TemporaryDirectory(prefix="embedroute-bench-") as tmp:
        for quant in quants:
            model = bench_quant(args, quant, corpus, clients, Path(tmp))
            if model is not None:
                results["models"].append(model)
    results["load_end"] = load_average()
    if not results["models"]:
        print("bench: no model was benchmarked", file=sys.stderr)
        return 1
    print(report.write(results, args.out, args.json))
    failed = [c["target"] for m in results["models"] for c in m["targets"] if not c["ok"]]
    for target in failed:
        say(f"target not met: {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
