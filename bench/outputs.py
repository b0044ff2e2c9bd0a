"""`python -m bench.outputs [MODEL]`: BGE-M3's outputs side by side, in one run (issue #30).

One `embedroute serve` process of a BGE-M3-shaped file (dense, sparse and ColBERT from one decode).
The same corpus (bench/corpus.py) is sent, in batches of `--batch` documents one call after another,
as each output:
- dense: Embed;
- token vectors: EmbedTokens (the ColBERT vectors on such a file);
- sparse: EmbedSparse (lexical weights);
- hybrid rerank: Rerank with SCORING_HYBRID and BGE-M3's weights, so all three outputs of every
  document (and of the query) are computed and scored; one query per batch.
The modes take turns round by round (the machine drifts, and its cores are shared); tokens/s is the
prompt tokens the server reports over the best round's seconds (the documents' in every mode: a
rerank's usage leaves its query out, so hybrid's extra query decode shows as a lower rate). Latency: each corpus query alone,
one call after another (hybrid: the query against `--rerank-docs` documents), p50 over all rounds.
Every row is also given as a ratio to dense; hybrid's latency to the dense Embed of the same texts
(the query and its documents in one call), which decodes as many tokens.
Without MODEL the tiny XLM-RoBERTa of the tests (both heads, tests/models/m3_checkpoint.py) is
converted with the project's converter into .cache/bench-models/m3; its vocabulary is not Qwen's, so
a corpus word is several tokens there: the server's counts are the ones reported.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import grpc

from bench import standalone
from bench.corpus import build_corpus
from bench.service_load import ServerProcess
from bench.timing import Latency
from router.metadata import describe_gguf
from service.core.resources import available_cpus
from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc, rerank_pb2, rerank_pb2_grpc

SECTION = "bench.outputs"
"""Each model's run has a section of its own (`bench.outputs.<model id>`)."""
MODES = ("dense", "token vectors", "sparse", "hybrid rerank")
SAME_TEXTS = "dense, query and documents"
"""Hybrid rerank's latency baseline: one Embed of the texts a hybrid call decodes."""
TINY = Path(".cache/bench-models/m3/tiny-bge-m3-F32.gguf")

Call = Callable[[list[str], str], int]
"""One call of a mode: (documents, query) -> the prompt tokens the server reports."""


def section_name(model: str) -> str:
    return f"{SECTION}.{re.sub(r'[^A-Za-z0-9_]', '_', model)}"


def tiny_model(path: Path = TINY) -> Path:
    """The tests' tiny BGE-M3 (both heads), converted at F32 once and kept."""
    if path.exists():
        return path
    from service.prepare.hf2gguf.xlmr import convert_xlm_roberta
    from tests.models.m3_checkpoint import make_m3_checkpoint

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        return convert_xlm_roberta(make_m3_checkpoint(Path(tmp) / "tiny-bge-m3"), path, "F32")


def calls(channel: grpc.Channel, model: str) -> dict[str, Call]:
    embed, rerank = embed_pb2_grpc.EmbedServiceStub(channel), rerank_pb2_grpc.RerankServiceStub(channel)
    options = embed_pb2.EmbedOptions(truncate=True)

    def dense(docs: list[str], _: str) -> int:
        return int(embed.Embed(embed_pb2.EmbedRequest(model=model, inputs=docs, options=options), timeout=600).usage.prompt_tokens)

    def tokens(docs: list[str], _: str) -> int:
        request = embed_pb2.EmbedTokensRequest(model=model, inputs=docs, options=options)
        return int(embed.EmbedTokens(request, timeout=600).usage.prompt_tokens)

    def sparse(docs: list[str], _: str) -> int:
        request = embed_pb2.EmbedSparseRequest(model=model, inputs=docs, options=options)
        return int(embed.EmbedSparse(request, timeout=600).usage.prompt_tokens)

    def hybrid(docs: list[str], query: str) -> int:
        request = rerank_pb2.RerankRequest(
            model=model, query=query, documents=docs, truncate=True, scoring=rerank_pb2.SCORING_HYBRID
        )
        return int(rerank.Rerank(request, timeout=600).usage.prompt_tokens)

    return dict(zip(MODES, (dense, tokens, sparse, hybrid), strict=True))


def throughput(call: Call, docs: list[str], queries: list[str], batch: int) -> tuple[float, int]:
    """Seconds to send `docs` in batches, one call after another, and the prompt tokens reported."""
    started = time.perf_counter()
    n_tokens = 0
    for n, i in enumerate(range(0, len(docs), batch)):
        n_tokens += call(docs[i : i + batch], queries[n % len(queries)])
    return time.perf_counter() - started, n_tokens


def latencies(mode: str, call: Call, queries: list[str], docs: list[str]) -> list[float]:
    """Each query alone, one call after another (hybrid rerank: against `docs`)."""
    seconds = []
    for query in queries:
        started = time.perf_counter()
        call(docs if mode == "hybrid rerank" else [query], query)
        seconds.append(time.perf_counter() - started)
    return seconds


def run(model_path: Path, args: argparse.Namespace) -> dict[str, Any]:
    model = describe_gguf(model_path).model_id
    corpus = build_corpus(args.docs, args.queries, seed=13, doc_tokens=args.doc_tokens)
    rerank_docs = corpus.documents[: args.rerank_docs]
    rounds: dict[str, list[float]] = {mode: [] for mode in MODES}
    tokens: dict[str, int] = {}
    waits: dict[str, list[float]] = {mode: [] for mode in (*MODES, SAME_TEXTS)}
    with tempfile.TemporaryDirectory(prefix="embedroute-outputs-") as tmp:
        folder = Path(tmp) / "models"
        folder.mkdir()
        (folder / model_path.name).symlink_to(model_path.resolve())
        with ServerProcess(folder, Path(tmp) / "server.log", threads=args.threads) as server:
            with grpc.insecure_channel(server.target) as channel:
                modes = calls(channel, model)

                def same_texts(_: list[str], query: str) -> int:
                    return modes["dense"]([query, *rerank_docs], query)

                for call in modes.values():  # warm-up
                    throughput(call, corpus.documents[: args.batch], corpus.queries, args.batch)
                for _ in range(args.rounds):
                    for mode, call in modes.items():
                        seconds, tokens[mode] = throughput(call, corpus.documents, corpus.queries, args.batch)
                        rounds[mode].append(seconds)
                        waits[mode] += latencies(mode, call, corpus.queries, rerank_docs)
                    waits[SAME_TEXTS] += latencies(SAME_TEXTS, same_texts, corpus.queries, [])
    return {
        "model": model, "docs": args.docs, "batch": args.batch, "rounds": rounds, "tokens": tokens,
        "latency": {mode: Latency.of(seconds).to_dict() for mode, seconds in waits.items()},
    }


def rows(results: dict[str, Any]) -> list[tuple[str, float, float]]:
    """(mode, tokens/s of the best round, p50 ms) in MODES' order."""
    return [
        (mode, results["tokens"][mode] / min(results["rounds"][mode]), results["latency"][mode]["p50_ms"])
        for mode in MODES
    ]


def report(results: dict[str, Any], args: argparse.Namespace, model_path: Path) -> str:
    measured = rows(results)
    dense_rate, dense_p50 = measured[0][1], measured[0][2]
    baseline = {mode: dense_p50 for mode in MODES} | {"hybrid rerank": results["latency"][SAME_TEXTS]["p50_ms"]}
    lines = [
        f"## BGE-M3's outputs (issue #30), `{results['model']}`: dense, token vectors, sparse and hybrid rerank "
        "(`python -m bench.outputs`)", "",
        f"One server; the same {results['docs']} documents in calls of {results['batch']} as each output, the modes "
        "taking turns round by round; tokens/s of the best round (the prompt tokens the server reports). Hybrid "
        "rerank scores each batch against one query with BGE-M3's weights (0.4, 0.2, 0.4: all three outputs). "
        f"Latency: each query alone (hybrid: against {args.rerank_docs} documents), p50 over every round; hybrid's "
        f"latency ratio is to the dense Embed of the same texts (the query and its {args.rerank_docs} documents in one "
        f"call: {results['latency'][SAME_TEXTS]['p50_ms']:.2f} ms).", "",
        f"- Command: `{results['command']}`",
        f"- File: `{model_path.name}`; {results['docs']} documents of {args.doc_tokens} corpus words, "
        f"{args.queries} queries, {args.rounds} rounds",
        f"- Machine: {available_cpus()} usable CPUs; load average at start {results['load_start']}, "
        f"at end {results['load_end']}",
        f"- Ran at the same time: {args.concurrent}", "",
        "| output | tokens/s | / dense | p50 ms | / dense |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {mode} | {rate:,.0f} | {rate / dense_rate:.2f}x | {p50:.2f} | {p50 / baseline[mode]:.2f}x |"
            for mode, rate, p50 in measured
        ],
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.outputs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, nargs="?", default=None, help="a BGE-M3-shaped GGUF (both heads)")
    parser.add_argument("--docs", type=int, default=512)
    parser.add_argument("--doc-tokens", type=int, default=48, help="corpus words per document")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rerank-docs", type=int, default=8, help="documents of each hybrid latency call")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads of the server")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="write this model's outputs section of that file")
    parser.add_argument("--concurrent", default="nothing else of ours", help="what else ran, for the report")
    args = parser.parse_args(argv)
    model_path = args.model or tiny_model()
    results = standalone.measured("bench.outputs", argv, lambda: run(model_path, args))
    standalone.publish(section_name(results["model"]), report(results, args, model_path), results, args.out, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
