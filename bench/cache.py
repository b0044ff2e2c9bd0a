"""`python -m bench.cache [EMBEDDER]`: the vector cache on vs off, in one run (issue #29).

Two `embedroute serve` processes of the same file, `--cache memory` and `--cache off`, are
fed the same batches over gRPC, alternately round by round (the machine drifts, and its
cores are shared); each round uses texts of its own, so that no round is helped by an
earlier one. Cases, documents/s as the best round of each side:
- a corpus with 37% duplicate documents (a duplicate repeats a document of the same corpus,
  in the same batch or another one, as re-crawls and boilerplate do);
- that corpus sent again to the cache-on server (every document cached);
- all misses: distinct documents only, so the cache only costs (hashing, lookups, stores).
Without EMBEDDER the tiny synthetic Qwen3 embedding model is written into .cache/bench-models.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
import numpy as np

from bench import standalone
from bench.corpus import build_corpus
from bench.service_load import ServerProcess
from router.metadata import describe_gguf
from service.core.resources import available_cpus
from service.prepare.synth.ladder import synth_ladder
from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc

SECTION = "bench.cache"
DUPLICATE_SHARE = 0.37
"""The share of duplicate rows one public report found in a real indexing corpus."""


def corpus(n_docs: int, duplicates: float, seed: int, doc_tokens: int) -> list[str]:
    """`n_docs` documents of which the share `duplicates` repeat others of the same list, shuffled."""
    rng = np.random.default_rng(seed)
    n_unique = n_docs - round(n_docs * duplicates)
    unique = build_corpus(n_unique, 0, seed=seed, doc_tokens=doc_tokens).documents
    docs = unique + [unique[int(i)] for i in rng.integers(0, n_unique, n_docs - n_unique)]
    return [docs[int(i)] for i in rng.permutation(len(docs))]


def embed_all(stub: embed_pb2_grpc.EmbedServiceStub, model: str, docs: list[str], batch: int) -> tuple[float, int]:
    """Seconds to embed `docs` in batches, one call after another, and the tokens served from the cache."""
    started = time.perf_counter()
    cached = 0
    for i in range(0, len(docs), batch):
        response = stub.Embed(embed_pb2.EmbedRequest(model=model, inputs=docs[i : i + batch]), timeout=600)
        cached += response.usage.cached_tokens
    return time.perf_counter() - started, cached


def run(embedder: Path, args: argparse.Namespace) -> dict[str, Any]:
    model = describe_gguf(embedder).model_id
    results: dict[str, Any] = {"rounds": {"dup_on": [], "dup_off": [], "miss_on": [], "miss_off": [], "again": []}}
    with tempfile.TemporaryDirectory(prefix="embedroute-cache-") as tmp:
        folder = Path(tmp) / "models"
        folder.mkdir()
        (folder / embedder.name).symlink_to(embedder.resolve())
        servers = {
            mode: ServerProcess(folder, Path(tmp) / f"server-{mode}.log", threads=args.threads, extra=["--cache", mode])
            for mode in ("memory", "off")
        }
        try:
            channels = {mode: grpc.insecure_channel(server.target) for mode, server in servers.items()}
            stubs = {mode: embed_pb2_grpc.EmbedServiceStub(channel) for mode, channel in channels.items()}
            warm = corpus(args.batch, 0.0, 999, args.doc_tokens)
            for stub in stubs.values():
                embed_all(stub, model, warm, args.batch)
            rounds = results["rounds"]
            for r in range(args.rounds):
                dup = corpus(args.docs, DUPLICATE_SHARE, 100 + r, args.doc_tokens)
                miss = corpus(args.docs, 0.0, 200 + r, args.doc_tokens)
                for mode, key in (("memory", "on"), ("off", "off")):
                    rounds[f"dup_{key}"].append(embed_all(stubs[mode], model, dup, args.batch)[0])
                    rounds[f"miss_{key}"].append(embed_all(stubs[mode], model, miss, args.batch)[0])
                seconds, cached = embed_all(stubs["memory"], model, dup, args.batch)
                rounds["again"].append(seconds)
                results["again_cached_tokens"] = cached
            for channel in channels.values():
                channel.close()
        finally:
            for server in servers.values():
                server.stop()
    results["docs"] = args.docs
    results["model"] = model
    return results


def rates(results: dict[str, Any]) -> dict[str, float]:
    """Documents/s of each case, best round."""
    return {case: results["docs"] / min(seconds) for case, seconds in results["rounds"].items()}


def report(results: dict[str, Any], args: argparse.Namespace, embedder: Path) -> str:
    r = rates(results)
    checks = [
        ("37% duplicates: on / off >= 1.4x", r["dup_on"] / r["dup_off"], r["dup_on"] / r["dup_off"] >= 1.4),
        ("the same corpus again (all cached) / off >= 20x", r["again"] / r["dup_off"], r["again"] / r["dup_off"] >= 20),
        ("all misses: on / off within 3% (>= 0.97x)", r["miss_on"] / r["miss_off"], r["miss_on"] / r["miss_off"] >= 0.97),
    ]
    lines = [
        "## Vector cache (issue #29), cache on vs off (`python -m bench.cache`)", "",
        "Two `embedroute serve` processes of one file, `--cache memory` and `--cache off`, fed the same "
        f"batches of {args.batch} over gRPC by one client, alternately round by round; every round has texts of "
        "its own; documents/s of the best round each.", "",
        f"- Command: `{results['command']}`",
        f"- File: `{embedder.name}`; {args.docs} documents of {args.doc_tokens} tokens per case and round, "
        f"{args.rounds} rounds",
        f"- Machine: {available_cpus()} usable CPUs; load average at start {results['load_start']}, "
        f"at end {results['load_end']}",
        f"- Ran at the same time: {args.concurrent}", "",
        "| case | cache on, docs/s | cache off, docs/s | on / off |",
        "|---|---:|---:|---:|",
        f"| 37% duplicate documents | {r['dup_on']:.1f} | {r['dup_off']:.1f} | {r['dup_on'] / r['dup_off']:.2f}x |",
        f"| the same corpus again (all cached) | {r['again']:.1f} | {r['dup_off']:.1f} | {r['again'] / r['dup_off']:.1f}x |",
        f"| all misses | {r['miss_on']:.1f} | {r['miss_off']:.1f} | {r['miss_on'] / r['miss_off']:.3f}x |",
        "", "| target | measured | met |", "|---|---:|---|",
        *[f"| {name} | {value:.2f}x | {'yes' if ok else '**no**'} |" for name, value, ok in checks],
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cache", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("embedder", type=Path, nargs="?", default=None)
    parser.add_argument("--docs", type=int, default=400)
    parser.add_argument("--doc-tokens", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads of each server")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="write this benchmark's section of that file")
    parser.add_argument("--concurrent", default="nothing else of ours", help="what else ran, for the report")
    args = parser.parse_args(argv)
    embedder = args.embedder or synth_ladder(Path(".cache/bench-models/tiny"), "tiny", "embedding", ("Q8_0",))["Q8_0"]
    results = standalone.measured("bench.cache", argv, lambda: run(embedder, args))
    standalone.publish(SECTION, report(results, args, embedder), results, args.out, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
