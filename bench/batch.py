"""`python -m bench.batch [EMBEDDER]`: a batch job against the same inputs sent live, in one run (issue #28).

One `embedroute serve` process with a `data_dir`. The same documents are embedded twice:
- live: `--clients` clients stream them through EmbedStream (the live path's fastest form);
- as a batch job: one SubmitBatch of one-text lines, timed from the first line sent to the job's
  `completed` (WatchBatch), so the upload, the store's chunk commits and the result files count.
Its tokens/s is the live pass's prompt tokens over that time (the same inputs). Then the latency of
a one-line query on an idle server, `--queries` of them twice: one after another, and at the probe's
pace (a pause of PROBE_GAP_S after each answer); then the same queries sent by that probe while a
second job of the same documents runs (p50 during a batch). Targets: batch tokens/s >= 0.9x live,
and a query's p50 during a batch <= 1.5x its idle p50 at the same pace (the same method: a query
that finds the server idle after a pause runs slower than one that follows another at once, as
both rows show); the ratio to the back-to-back p50 is reported beside it.
Without EMBEDDER the tiny synthetic Qwen3 embedding model is written into .cache/bench-models.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc

from bench import standalone
from bench.corpus import build_corpus
from bench.service_load import DOCUMENT, PROBE_GAP_S, Probe, ServerProcess, idle_latency, run_load
from bench.timing import Latency
from router.metadata import describe_gguf
from service.core.resources import available_cpus
from service.prepare.synth.ladder import synth_ladder
from service.rpc.generated.embedroute.v1 import batch_pb2, batch_pb2_grpc, embed_pb2

SECTION = "bench.batch"
"""Each model's run has a section of its own (`bench.batch.<model id>`), so the tiny model's and the
0.6B shape's figures stand side by side."""
JOB_TIMEOUT_S = 6 * 3600.0


def section_name(model: str) -> str:
    return f"{SECTION}.{re.sub(r'[^A-Za-z0-9_]', '_', model)}"


def lines(model: str, docs: Sequence[str]) -> Iterator[batch_pb2.SubmitBatchRequest]:
    for i, doc in enumerate(docs):
        yield batch_pb2.SubmitBatchRequest(
            custom_id=f"line-{i}", embed=embed_pb2.EmbedRequest(model=model, inputs=[doc], options=DOCUMENT))


def run_job(target: str, model: str, docs: Sequence[str]) -> float:
    """Seconds from the first line sent to the job's `completed`; fails unless every line was answered."""
    started = time.perf_counter()
    with grpc.insecure_channel(target) as channel:
        stub = batch_pb2_grpc.BatchServiceStub(channel)
        job = stub.SubmitBatch(lines(model, docs), timeout=JOB_TIMEOUT_S).batch
        last = job
        for seen in stub.WatchBatch(batch_pb2.WatchBatchRequest(batch_id=job.id), timeout=JOB_TIMEOUT_S):
            last = seen.batch
    seconds = time.perf_counter() - started
    if last.status != batch_pb2.BATCH_STATUS_COMPLETED or last.completed != len(docs):
        raise RuntimeError(f"job {job.id} ended {batch_pb2.BatchStatus.Name(last.status)} with "
                           f"{last.completed} of {len(docs)} lines answered")
    return seconds


def run(embedder: Path, args: argparse.Namespace) -> dict[str, Any]:
    model = describe_gguf(embedder).model_id
    corpus = build_corpus(args.lines, args.queries, seed=11, doc_tokens=args.doc_tokens)
    with tempfile.TemporaryDirectory(prefix="embedroute-batch-") as tmp:
        folder = Path(tmp) / "models"
        folder.mkdir()
        (folder / embedder.name).symlink_to(embedder.resolve())
        extra = ["--data-dir", str(Path(tmp) / "data"), "--batch-max-lines", str(max(args.lines, 1))]
        with ServerProcess(folder, Path(tmp) / "server.log", threads=args.threads, extra=extra) as server:
            run_load(server.target, model, corpus.documents[: args.clients * 4], args.clients)  # warm-up
            live = run_load(server.target, model, corpus.documents, args.clients)
            batch_s = run_job(server.target, model, corpus.documents)
            idle = idle_latency(server.target, model, corpus.queries)
            with Probe(server.target, model, corpus.queries, count=len(corpus.queries)) as paced:
                paced.wait()
            with Probe(server.target, model, corpus.queries) as probe:
                during_s = run_job(server.target, model, corpus.documents)
            during = Latency.of(probe.seconds)
    return {
        "model": model, "lines": args.lines, "tokens": live.n_tokens, "clients": args.clients,
        "live_seconds": live.seconds, "batch_seconds": batch_s, "batch_with_probe_seconds": during_s,
        "idle": idle.latency.to_dict(), "idle_paced": Latency.of(paced.seconds).to_dict(),
        "during_batch": during.to_dict(),
    }


def report(results: dict[str, Any], args: argparse.Namespace, embedder: Path) -> str:
    live_rate = results["tokens"] / results["live_seconds"]
    batch_rate = results["tokens"] / results["batch_seconds"]
    idle_p50, during_p50 = results["idle"]["p50_ms"], results["during_batch"]["p50_ms"]
    paced = results["idle_paced"]
    checks = [
        ("batch tokens/s / live tokens/s >= 0.9x", batch_rate / live_rate, batch_rate / live_rate >= 0.9),
        ("query p50 during a batch / idle p50 at the same pace <= 1.5x", during_p50 / paced["p50_ms"],
         during_p50 / paced["p50_ms"] <= 1.5),
    ]
    lines = [
        f"## Batch jobs (issue #28), `{results['model']}`: a job vs the same inputs sent live (`python -m bench.batch`)", "",
        f"One server with a `data_dir`. Live: {results['clients']} clients stream the documents through "
        "EmbedStream. Batch: one SubmitBatch of one-text lines, timed from the first line sent to `completed` "
        "(WatchBatch). Query latency: one-line queries on the idle server, one after another and at the "
        f"probe's pace ({PROBE_GAP_S:g} s after each answer), then from that probe while a second job of the same "
        "lines runs. The target compares queries sent at the same pace; the ratio to back-to-back queries is "
        f"{during_p50 / idle_p50:.2f}x.", "",
        f"- Command: `{results['command']}`",
        f"- File: `{embedder.name}`; {results['lines']:,} lines of {args.doc_tokens} tokens "
        f"({results['tokens']:,} prompt tokens)",
        f"- Machine: {available_cpus()} usable CPUs; load average at start {results['load_start']}, "
        f"at end {results['load_end']}",
        f"- Ran at the same time: {args.concurrent}", "",
        "| pass | seconds | tokens/s | lines/s |", "|---|---:|---:|---:|",
        f"| live, {results['clients']} clients | {results['live_seconds']:.1f} | {live_rate:,.0f} | "
        f"{results['lines'] / results['live_seconds']:,.1f} |",
        f"| batch job | {results['batch_seconds']:.1f} | {batch_rate:,.0f} | "
        f"{results['lines'] / results['batch_seconds']:,.1f} |",
        f"| batch job with the probe's queries | {results['batch_with_probe_seconds']:.1f} | "
        f"{results['tokens'] / results['batch_with_probe_seconds']:,.0f} | "
        f"{results['lines'] / results['batch_with_probe_seconds']:,.1f} |", "",
        "| one-line query | p50 ms | p99 ms | queries |", "|---|---:|---:|---:|",
        f"| idle, one after another | {idle_p50:.2f} | {results['idle']['p99_ms']:.2f} | {results['idle']['n']} |",
        f"| idle, {PROBE_GAP_S:g} s apart | {paced['p50_ms']:.2f} | {paced['p99_ms']:.2f} | {paced['n']} |",
        f"| during a batch job | {during_p50:.2f} | {results['during_batch']['p99_ms']:.2f} | "
        f"{results['during_batch']['n']} |",
        "", "| target | measured | met |", "|---|---:|---|",
        *[f"| {name} | {value:.2f}x | {'yes' if ok else '**no**'} |" for name, value, ok in checks],
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.batch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("embedder", type=Path, nargs="?", default=None)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--doc-tokens", type=int, default=32)
    parser.add_argument("--clients", type=int, default=4, help="live clients")
    parser.add_argument("--queries", type=int, default=200, help="one-line queries timed idle")
    parser.add_argument("--threads", type=int, default=0, help="llama.cpp threads (0: the server's choice)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="write this model's batch section of that file")
    parser.add_argument("--concurrent", default="nothing else of ours", help="what else ran, for the report")
    args = parser.parse_args(argv)
    embedder = args.embedder or synth_ladder(Path(".cache/bench-models/tiny"), "tiny", "embedding", ("Q8_0",))["Q8_0"]
    results = standalone.measured("bench.batch", argv, lambda: run(embedder, args))
    standalone.publish(section_name(results["model"]), report(results, args, embedder), results, args.out, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
