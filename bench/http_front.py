"""`python -m bench.http_front`: throughput through OpenAI's /v1/embeddings against the gRPC API, same run.

One `embedroute serve` process with both fronts; N clients, each on its own connection,
send their share of the documents in calls of B documents: gRPC Embed (grpc.aio), and
POST /v1/embeddings (httpx) with base64 vectors (what the openai SDK asks for) and with
float lists; then the same through the openai SDK itself, and the gRPC API's EmbedStream
as the main benchmark runs it. Every path runs once per round, in reversed order in the
next round, and the rounds are averaged, so that the machine's drift does not pick the
winner. The result replaces this benchmark's section of BENCHMARKS.md (between its
markers), leaving the rest of the file alone.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import grpc.aio
import httpx
import numpy as np
import openai

from bench.__main__ import load_average, model_files
from bench import sections
from bench.corpus import build_corpus
from bench.service_load import DOCUMENT, OWN_CONNECTION, ServerProcess, run_load
from router.metadata import describe_gguf
from service.core.resources import available_cpus
from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc

SECTION = "bench.http_front"
MAX_SLOWDOWN = 0.10
"""The issue's target: /v1/embeddings within 10% of the gRPC API's throughput."""

Batches = list[list[str]]
Client = Callable[[Batches], Awaitable[int]]


def batches(docs: Sequence[str], clients: int, size: int) -> list[Batches]:
    """Each client's share of the documents, in calls of `size`."""
    shares = [list(docs[c::clients]) for c in range(clients)]
    return [[share[i : i + size] for i in range(0, len(share), size)] for share in shares]


def grpc_client(target: str, model: str) -> Client:
    async def run(calls: Batches) -> int:
        tokens = 0
        async with grpc.aio.insecure_channel(target, options=OWN_CONNECTION) as channel:
            stub = embed_pb2_grpc.EmbedServiceStub(channel)
            for texts in calls:
                reply = await stub.Embed(embed_pb2.EmbedRequest(model=model, inputs=texts, options=DOCUMENT))
                assert len(reply.embeddings) == len(texts)
                tokens += reply.usage.prompt_tokens
        return tokens

    return run


def http_client(url: str, model: str, encoding_format: str) -> Client:
    async def run(calls: Batches) -> int:
        tokens = 0
        async with httpx.AsyncClient(base_url=url, timeout=600) as client:
            for texts in calls:
                answer = await client.post(
                    "/v1/embeddings", json={"model": model, "input": texts, "encoding_format": encoding_format}
                )
                answer.raise_for_status()
                body = answer.json()
                vectors = [_vector(d["embedding"]) for d in body["data"]]
                assert len(vectors) == len(texts)
                tokens += body["usage"]["prompt_tokens"]
        return tokens

    return run


def _vector(value: str | list[float]) -> np.ndarray:
    """Decoded as a client would, so that the client's share of the CPU is in the figure."""
    if isinstance(value, str):
        return np.frombuffer(base64.b64decode(value), dtype="<f4")
    return np.array(value, dtype=np.float32)


def sdk_client(url: str, model: str) -> Client:
    async def run(calls: Batches) -> int:
        tokens = 0
        async with openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0) as client:
            for texts in calls:
                response = await client.embeddings.create(model=model, input=texts)
                assert len(response.data) == len(texts)
                tokens += response.usage.prompt_tokens
        return tokens

    return run


async def _timed(client: Client, shares: list[Batches]) -> tuple[int, float]:
    started = time.perf_counter()
    counts = await asyncio.gather(*(client(share) for share in shares))
    return sum(counts), time.perf_counter() - started


def measure(server: ServerProcess, model: str, docs: Sequence[str], clients: int, size: int, rounds: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{server.http_port}"
    shares = batches(docs, clients, size)
    paths: dict[str, Callable[[], tuple[int, float]]] = {
        "grpc_embed": lambda: asyncio.run(_timed(grpc_client(server.target, model), shares)),
        "http_base64": lambda: asyncio.run(_timed(http_client(url, model, "base64"), shares)),
        "http_float": lambda: asyncio.run(_timed(http_client(url, model, "float"), shares)),
        "openai_sdk": lambda: asyncio.run(_timed(sdk_client(url, model), shares)),
        "grpc_stream": lambda: (lambda r: (r.n_tokens, r.seconds))(run_load(server.target, model, docs, clients)),
    }
    paths["grpc_embed"]()  # warm-up: connections, first decodes
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in paths}
    order = list(paths)
    for n in range(rounds):
        for name in order if n % 2 == 0 else reversed(order):
            tokens, seconds = paths[name]()
            runs[name].append({"tokens": tokens, "seconds": seconds, "tok_per_s": tokens / seconds})
            say(f"{name}, round {n + 1}: {tokens / seconds:.1f} tok/s")
    mean = {name: sum(r["tok_per_s"] for r in rs) / len(rs) for name, rs in runs.items()}
    return {"clients": clients, "batch": size, "rounds": rounds, "n_docs": len(docs), "runs": runs, "mean": mean,
            "ratio": mean["http_base64"] / mean["grpc_embed"]}


LABELS = {
    "grpc_embed": "gRPC Embed (grpc.aio)",
    "http_base64": "POST /v1/embeddings, base64 (httpx)",
    "http_float": "POST /v1/embeddings, float (httpx)",
    "openai_sdk": "openai SDK `embeddings.create` (base64)",
    "grpc_stream": "gRPC EmbedStream, one document per message",
}


def section(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = ["## HTTP front vs gRPC (`python -m bench.http_front`)", "",
             "Throughput of the same documents through OpenAI's /v1/embeddings and through the gRPC API, measured in "
             "one run against one `embedroute serve` process with both fronts (bench/http_front.py: each path once "
             "per round, reversed order in the next round, rounds averaged; clients decode the vectors they get).", "",
             f"- Command: `{meta['command']}`",
             f"- Machine: {meta['cpus']} usable CPUs, shared with the clients; load average at start "
             f"{meta['load_start']}, at end {meta['load_end']}",
             f"- Ran at the same time: {meta['concurrent']}", ""]
    for r in results:
        lines += [f"### {r['model']} ({r['quant']}), {r['n_docs']} documents x 128 tokens, {r['clients']} clients, "
                  f"{r['batch']} documents per call, {r['rounds']} rounds", "",
                  "| path | tok/s per round | mean tok/s | x gRPC Embed |", "| --- | ---: | ---: | ---: |"]
        for name, label in LABELS.items():
            per_round = ", ".join(f"{x['tok_per_s']:.1f}" for x in r["runs"][name])
            lines.append(f"| {label} | {per_round} | {r['mean'][name]:.1f} | {r['mean'][name] / r['mean']['grpc_embed']:.2f} |")
        met = "met" if r["ratio"] >= 1 - MAX_SLOWDOWN else "**not met**"
        lines += ["", f"Target: /v1/embeddings (base64, as the SDK asks) >= {1 - MAX_SLOWDOWN:.2f}x gRPC Embed: "
                  f"{r['ratio']:.2f}x, {met}.", ""]
    return sections.section(SECTION, "\n".join(lines))


def say(message: str) -> None:
    print(f"bench.http_front: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_front", description=__doc__)
    parser.add_argument("--models", type=Path, default=Path(".cache/bench-models"))
    parser.add_argument("--shapes", default="tiny,0.6b", help="synth shapes, each with its own --docs")
    parser.add_argument("--docs", default="400,48", help="documents per shape")
    parser.add_argument("--quant", default="Q8_0")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrent", default="nothing else of ours", help="what else ran, for the report")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args(argv)
    meta = {"command": shlex.join(["python", "-m", "bench.http_front", *(sys.argv[1:] if argv is None else argv)]),
            "cpus": available_cpus(), "load_start": load_average(), "concurrent": args.concurrent}
    results = []
    for shape, n_docs in zip(args.shapes.split(","), (int(d) for d in args.docs.split(",")), strict=True):
        models = args.models / "tiny" if shape == "tiny" else args.models
        embedding, _ = model_files(models, shape, args.quant, synth=True)
        assert embedding is not None
        description = describe_gguf(embedding)
        docs = build_corpus(n_docs, 1).documents
        with tempfile.TemporaryDirectory(prefix="embedroute-http-bench-") as tmp:
            (Path(tmp) / embedding.name).symlink_to(embedding.resolve())
            say(f"{description.model_id}: starting the server")
            with ServerProcess(Path(tmp), Path(tmp) / "server.log", threads=available_cpus(), http=True) as server:
                result = measure(server, description.model_id, docs, args.clients, args.batch, args.rounds)
        results.append({**result, "model": description.model_id, "quant": args.quant})
    meta["load_end"] = load_average()
    text = section(results, meta)
    sections.replace(args.out, SECTION, text)
    print(text)
    return 0 if all(r["ratio"] >= 1 - MAX_SLOWDOWN for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
