"""`python -m bench.prefix RERANKER EMBEDDER`: shared prefixes on vs off, in one run (issue #18).

Cases, each run with sharing on and off, interleaved round by round because the machine
drifts (and other work shares its cores):
- rerank of one 10-token query over N documents of 40 and of 128 tokens, through the
  engine (`Model.rerank`): documents/s and the tokens actually decoded;
- the same 40-token rerank through `embedroute serve` (gRPC) and, with `--llama-server PATH`,
  through llama.cpp's own server's `/v1/rerank` on the same file;
- instructed 10-token queries: one per call, one after another (what a search box sends),
  and 16 per call;
- documents without instruction (nothing to share: the two must be level).

llama-server is not installed with llama-cpp-python; build it from the vendored llama.cpp
of the same release (`pip download --no-deps --no-binary :all: llama-cpp-python==0.3.36`,
unpack, then in `vendor/llama.cpp`: `cmake -B build -DLLAMA_BUILD_SERVER=ON
-DCMAKE_BUILD_TYPE=Release && nice -n 19 cmake --build build --target llama-server -j 2`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bench import sections
from bench.__main__ import load_average
from bench.corpus import build_corpus
from bench.rerank import service_rerank
from bench.service_load import ServerProcess, free_port
from router.metadata import describe_gguf
from service.core.resources import available_cpus
from router.types import EngineSettings
from service.core.values import EmbedOptions
from service.engine import Model, load_model

SECTION = "bench.prefix"
QUERY = EmbedOptions(input_type="query")
DOCUMENT = EmbedOptions()


def timed(model: Model, run: Callable[[Model], Any]) -> tuple[float, int, Any]:
    """Seconds and tokens decoded by one call of `run`."""
    before = model.stepper.decoded
    started = time.perf_counter()
    out = run(model)
    return time.perf_counter() - started, model.stepper.decoded - before, out


def paired(
    models: dict[bool, Model], run: Callable[[Model], Any], rounds: int, warm: Callable[[Model], Any]
) -> dict[str, Any]:
    """`run` on both models, alternating, after `warm` on each; per side the best round's seconds and the
    tokens it decoded."""
    seconds: dict[bool, list[float]] = {True: [], False: []}
    tokens: dict[bool, int] = {}
    outs: dict[bool, Any] = {}
    for model in models.values():
        warm(model)  # touch the buffers and, with sharing, keep what a warm server has kept
    for _ in range(rounds):
        for share, model in models.items():
            s, n, outs[share] = timed(model, run)
            seconds[share].append(s)
            tokens[share] = n
    return {"on_s": min(seconds[True]), "off_s": min(seconds[False]), "on_rounds": seconds[True],
            "off_rounds": seconds[False], "on_tokens": tokens[True], "off_tokens": tokens[False], "outs": outs}


def rerank_case(models: dict[bool, Model], query: str, documents: list[str], rounds: int) -> dict[str, Any]:
    result = paired(models, lambda m: [s.score for s in m.rerank(query, documents)], rounds,
                    lambda m: m.rerank("another query", documents[:2]))  # its prefix is not this one
    outs = result.pop("outs")
    result["worst_dp"] = float(np.abs(np.array(outs[True]) - np.array(outs[False])).max())
    result["n"] = len(documents)
    return result


def queries_case(models: dict[bool, Model], queries: list[str], per_call: int, rounds: int) -> dict[str, Any]:
    def run(model: Model) -> list[Any]:
        out = []
        for i in range(0, len(queries), per_call):
            out += [e.vector for e in model.embed(queries[i : i + per_call], QUERY)]
        return out

    result = paired(models, run, rounds, lambda m: m.embed(queries[:2], QUERY))
    outs = result.pop("outs")
    result["worst_cosine"] = float(min(a @ b / np.linalg.norm(a) / np.linalg.norm(b) for a, b in zip(outs[True], outs[False])))
    result["n"] = len(queries)
    return result


def documents_case(models: dict[bool, Model], documents: list[str], rounds: int) -> dict[str, Any]:
    result = paired(models, lambda m: m.embed(documents, DOCUMENT), rounds, lambda m: m.embed(documents[:2], DOCUMENT))
    result.pop("outs")
    result["n"] = len(documents)
    return result


def llama_server_rerank(binary: Path, gguf: Path, query: str, documents: list[str], threads: int, rounds: int) -> float:
    """Best seconds of `/v1/rerank` over all documents on llama.cpp's server (4 slots, as in facts.md)."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [str(binary), "-m", str(gguf), "--reranking", "-t", str(threads), "-c", "8192", "-np", "4",
             "-b", "512", "-ub", "512", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(600):
                try:
                    with urllib.request.urlopen(f"{base}/health", timeout=2) as reply:
                        if reply.status == 200:
                            break
                except OSError:
                    time.sleep(0.5)
            body = json.dumps({"query": query, "documents": documents}).encode()
            best = float("inf")
            for _ in range(rounds):
                request = urllib.request.Request(f"{base}/v1/rerank", body, {"Content-Type": "application/json"})
                started = time.perf_counter()
                with urllib.request.urlopen(request, timeout=1200) as reply:
                    results = json.loads(reply.read())["results"]
                best = min(best, time.perf_counter() - started)
                if len(results) != len(documents):
                    raise RuntimeError(f"llama-server returned {len(results)} results for {len(documents)}")
            return best
        finally:
            server.terminate()
            server.wait(30)


def service_case(reranker: Path, query: str, documents: list[str], threads: int, rounds: int) -> dict[str, float]:
    out = {}
    description = describe_gguf(reranker)
    with tempfile.TemporaryDirectory(prefix="embedroute-prefix-") as tmp:
        folder = Path(tmp) / "models"
        folder.mkdir()
        (folder / reranker.name).symlink_to(reranker.resolve())
        for share in (True, False):
            flag = ["--share-prefixes", "true" if share else "false"]
            with ServerProcess(folder, Path(tmp) / f"server-{share}.log", threads=threads, extra=flag) as server:
                latency = service_rerank(server.target, description.model_id, query, documents, rounds)
                server.stop()
            out["on_s" if share else "off_s"] = latency.p50_ms / 1000
    return out


def row(name: str, n: int, case: dict[str, Any], extra: str = "") -> str:
    on, off = n / case["on_s"], n / case["off_s"]
    tokens = f"{case['on_tokens']:,} / {case['off_tokens']:,}" if "on_tokens" in case else "-"
    return f"| {name} | {on:.2f} | {off:.2f} | {on / off:.2f}x | {tokens} | {extra} |"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.prefix", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reranker", type=Path)
    parser.add_argument("embedder", type=Path)
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--queries", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--doc-tokens", default="40,128", help="document lengths of the rerank cases")
    parser.add_argument("--llama-server", type=Path, default=None)
    parser.add_argument("--no-service", action="store_true", help="skip the gRPC rerank (two server starts)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="write this benchmark's section of that file")
    parser.add_argument("--concurrent", default="nothing else of ours", help="what else ran, for the report")
    args = parser.parse_args(argv)
    threads = available_cpus()
    base = EngineSettings(n_threads=threads)
    results: dict[str, Any] = {"command": " ".join(["python -m bench.prefix", *(argv or sys.argv[1:])]),
                               "load_start": load_average()}
    short, long = build_corpus(args.docs, args.queries, doc_tokens=40), build_corpus(args.docs, 1, doc_tokens=128)
    query = short.queries[0]
    lines = ["| case | sharing on | off | on / off | tokens decoded on / off | notes |", "|---|---:|---:|---:|---:|---|"]
    rerankers = {share: load_model(args.reranker, replace(base, share_prefixes=share)) for share in (True, False)}
    try:
        lengths = {int(n) for n in args.doc_tokens.split(",") if n.strip()}
        for name, corpus in (("40", short), ("128", long)):
            if int(name) not in lengths:
                continue
            corpus.check(rerankers[True].tokenize)
            case = rerank_case(rerankers, query, corpus.documents, args.rounds)
            results[f"rerank_{name}"] = case
            lines.append(row(f"rerank, {args.docs} documents of {name} tokens (docs/s, engine)", args.docs,
                             case, f"worst dp {case['worst_dp']:.1e}"))
            print(lines[-1], file=sys.stderr, flush=True)
    finally:
        for model in rerankers.values():
            model.close()
    if not args.no_service:
        case = service_case(args.reranker, query, short.documents, threads, args.rounds)
        results["rerank_service_40"] = case
        lines.append(row(f"rerank, {args.docs} documents of 40 tokens (docs/s, gRPC service)", args.docs, case))
    if args.llama_server is not None:
        seconds = llama_server_rerank(args.llama_server, args.reranker, query, short.documents, threads, args.rounds)
        results["llama_server_40_s"] = seconds
        runner, versus = versus_llama_server(results)
        lines.append(f"| llama-server /v1/rerank, same 40-token documents (docs/s) | {args.docs / seconds:.2f} | - | "
                     f"{runner} on / llama-server {versus:.2f}x | - | same file, 4 slots |")
    embedders = {share: load_model(args.embedder, replace(base, share_prefixes=share)) for share in (True, False)}
    try:
        for per_call in (1, 16):
            case = queries_case(embedders, short.queries, per_call, args.rounds)
            results[f"queries_{per_call}"] = case
            lines.append(row(f"instructed 10-token queries, {per_call} per call (queries/s)", args.queries, case,
                             f"worst cosine {case['worst_cosine']:.7f}"))
            print(lines[-1], file=sys.stderr, flush=True)
        documents = long.documents[:32]
        case = documents_case(embedders, documents, args.rounds)
        results["documents"] = case
        lines.append(row(f"{len(documents)} documents of 128 tokens, no instruction (docs/s)", len(documents), case))
    finally:
        for model in embedders.values():
            model.close()
    results["load_end"] = load_average()
    print("\n".join(lines))
    if args.out is not None:
        sections.replace(args.out, SECTION, report(results, lines, args))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


def versus_llama_server(results: dict[str, Any]) -> tuple[str, float]:
    """What ran the 40-token rerank with sharing (the service when it ran, else the engine) and its
    docs/s over llama-server's."""
    name, case = ("service", results["rerank_service_40"]) if "rerank_service_40" in results else \
        ("engine", results["rerank_40"])
    return name, float(results["llama_server_40_s"] / case["on_s"])


def targets(results: dict[str, Any]) -> list[str]:
    """The issue's targets, each with the measured ratio."""
    def ratio(case: dict[str, Any]) -> float:
        return float(case["off_s"] / case["on_s"])

    checks: list[tuple[str, float, bool]] = []
    if "rerank_40" in results:
        checks.append(("rerank docs/s, sharing on >= 2x off, 40-token documents (engine)", ratio(results["rerank_40"]),
                       ratio(results["rerank_40"]) >= 2))
    if "llama_server_40_s" in results:
        name, versus = versus_llama_server(results)
        runner = "gRPC service" if name == "service" else name
        checks.append((f"rerank docs/s, sharing on ({runner}) >= 2.5x llama-server /v1/rerank", versus, versus >= 2.5))
    for per_call in (1, 16):
        case = results[f"queries_{per_call}"]
        checks.append((f"instructed queries/s, {per_call} per call, on >= 2x off", ratio(case), ratio(case) >= 2))
    level = ratio(results["documents"])
    checks.append(("documents without instruction, on / off within noise (0.95-1.05)", level, 0.95 <= level <= 1.05))
    return [f"| {name} | {value:.2f}x | {'yes' if ok else '**no**'} |" for name, value, ok in checks]


def report(results: dict[str, Any], lines: list[str], args: argparse.Namespace) -> str:
    """This benchmark's section of BENCHMARKS.md."""
    head = [
        "## Shared prefixes (issue #18), sharing on vs off (`python -m bench.prefix`)", "",
        "Engine cases: two models loaded side by side, sharing on and off, run alternately round by round (best "
        "round each; the machine drifts); tokens decoded are the stepper's own count. The gRPC row starts "
        "`embedroute serve` once per setting (median of the rounds); llama-server runs on the same file.", "",
        f"- Command: `{results['command']}`",
        f"- Files: `{args.reranker.name}`, `{args.embedder.name}`",
        f"- Machine: {available_cpus()} usable CPUs; load average at start {results['load_start']}, "
        f"at end {results['load_end']}",
        f"- Ran at the same time: {args.concurrent}", "",
    ]
    return sections.section(SECTION, "\n".join([
        *head, *lines, "", "| target | measured | met |", "|---|---:|---|", *targets(results)]))


if __name__ == "__main__":
    raise SystemExit(main())
