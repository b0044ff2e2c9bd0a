"""gRPC client for the e2e runs: the protos under protos/ are compiled at run time with grpc_tools,
so it depends on nothing inside service/ (whose package layout may change).

  client.py check ADDR                 health SERVING, then one Embed and one Rerank; prints both
  client.py stream ADDR --inputs N --gap S --ready-file F
                                       one EmbedStream sending N inputs S seconds apart; touches F
                                       after the first answer (the caller then sends SIGTERM);
                                       exits 0 only if every input got its answer
  client.py load ADDR --seconds S      repeated Embed calls and short EmbedStreams for S seconds;
                                       UNAVAILABLE is retried (a pod going away), anything else
                                       counts as failed; prints sent/succeeded/retried/failed as JSON
Every line of progress goes to stderr; the verdicts go to stdout as JSON.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_tools import protoc

PROTOS = Path(__file__).resolve().parents[2] / "protos"


def compile_protos() -> dict[str, ModuleType]:
    out = tempfile.mkdtemp(prefix="e2e-protos-")
    files = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    include = Path(protoc.__file__).parent / "_proto"
    rc = protoc.main(["protoc", f"-I{PROTOS}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", *files])
    if rc != 0:
        raise SystemExit(f"protoc failed ({rc})")
    sys.path.insert(0, out)
    names = ("embed_pb2", "embed_pb2_grpc", "rerank_pb2", "rerank_pb2_grpc")
    return {n: importlib.import_module(f"embedroute.v1.{n}") for n in names}


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}] client: {msg}", file=sys.stderr, flush=True)


def check(addr: str, pb: dict[str, ModuleType], timeout: float) -> dict[str, Any]:
    with grpc.insecure_channel(addr) as ch:
        health = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        embed = pb["embed_pb2_grpc"].EmbedServiceStub(ch).Embed(
            pb["embed_pb2"].EmbedRequest(inputs=["a container run", "of embedroute"]), timeout=timeout
        )
        rerank = pb["rerank_pb2_grpc"].RerankServiceStub(ch).Rerank(
            pb["rerank_pb2"].RerankRequest(query="what is a cat", documents=["a cat is an animal", "rust is a language"]),
            timeout=timeout,
        )
    result = {
        "health": health_pb2.HealthCheckResponse.ServingStatus.Name(health.status),
        "embed": {"model": embed.model, "vectors": len(embed.embeddings), "dimensions": embed.embeddings[0].dimensions},
        "rerank": {
            "model": rerank.model,
            "scoring": pb["rerank_pb2"].Scoring.Name(rerank.scoring),
            "order": [r.index for r in rerank.results],
            "scores": [round(r.score, 4) for r in rerank.results],
        },
    }
    ok = result["health"] == "SERVING" and len(embed.embeddings) == 2 and len(rerank.results) == 2
    result["ok"] = ok
    return result


def stream(addr: str, pb: dict[str, ModuleType], inputs: int, gap: float, ready_file: str | None) -> dict[str, Any]:
    embed_pb2 = pb["embed_pb2"]
    sent: list[str] = []

    def requests():  # type: ignore[no-untyped-def]
        for i in range(inputs):
            sent.append(str(i))
            yield embed_pb2.EmbedStreamRequest(id=str(i), input=f"streamed input number {i}")
            time.sleep(gap)

    got: set[str] = set()
    error = ""
    start = time.monotonic()
    with grpc.insecure_channel(addr) as ch:
        try:
            for resp in pb["embed_pb2_grpc"].EmbedServiceStub(ch).EmbedStream(requests(), timeout=inputs * gap + 60):
                got.add(resp.id)
                if len(got) == 1 and ready_file:
                    Path(ready_file).touch()
                    say("first answer in; stream continues")
        except grpc.RpcError as exc:
            error = f"{exc.code().name}: {exc.details()}"
    result = {
        "inputs": inputs,
        "sent": len(sent),
        "answered": len(got),
        "lost": sorted(set(sent) - got, key=int),
        "error": error,
        "seconds": round(time.monotonic() - start, 2),
    }
    result["ok"] = not error and len(got) == inputs
    return result


class Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.c = {"sent": 0, "succeeded": 0, "retried": 0, "failed": 0}
        self.errors: dict[str, int] = {}

    def add(self, key: str, err: str = "") -> None:
        with self.lock:
            self.c[key] += 1
            if err:
                self.errors[err] = self.errors.get(err, 0) + 1


def load(addr: str, pb: dict[str, ModuleType], seconds: float, workers: int, retries: int) -> dict[str, Any]:
    """Each worker has its own channel (as separate clients would) and alternates unary and stream calls."""
    embed_pb2, embed_grpc = pb["embed_pb2"], pb["embed_pb2_grpc"]
    counts = Counts()
    deadline = time.monotonic() + seconds

    def one_call(stub: Any, n: int) -> None:
        if n % 2 == 0:
            resp = stub.Embed(embed_pb2.EmbedRequest(inputs=[f"rolling update call {n}"]), timeout=30)
            assert len(resp.embeddings) == 1
        else:
            reqs = [embed_pb2.EmbedStreamRequest(id=str(i), input=f"stream {n} item {i}") for i in range(3)]
            got = {r.id for r in stub.EmbedStream(iter(reqs), timeout=30)}
            assert got == {"0", "1", "2"}, got

    def worker(w: int) -> None:
        # Keepalive-free channel; a closed connection (GOAWAY, pod gone) surfaces as UNAVAILABLE.
        ch = grpc.insecure_channel(addr)
        stub = embed_grpc.EmbedServiceStub(ch)
        n = w
        while time.monotonic() < deadline:
            n += workers
            counts.add("sent")
            for attempt in range(retries + 1):
                try:
                    one_call(stub, n)
                    counts.add("succeeded")
                    break
                except grpc.RpcError as exc:
                    code = exc.code()
                    if code == grpc.StatusCode.UNAVAILABLE and attempt < retries:
                        counts.add("retried", f"UNAVAILABLE: {exc.details()}"[:120])
                        time.sleep(0.2 * (attempt + 1))
                        continue
                    counts.add("failed", f"{code.name}: {exc.details()}"[:120])
                    break
                except AssertionError as exc:
                    counts.add("failed", f"wrong answer: {exc}"[:120])
                    break
            time.sleep(0.05)
        ch.close()

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(workers)]
    start = time.monotonic()
    last = 0.0
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(0.5)
        if time.monotonic() - last > 15:
            last = time.monotonic()
            say(f"load {int(time.monotonic() - start)}s: {counts.c}")
    result: dict[str, Any] = dict(counts.c)
    result["errors"] = counts.errors
    result["seconds"] = round(time.monotonic() - start, 1)
    result["ok"] = counts.c["failed"] == 0 and counts.c["succeeded"] == counts.c["sent"] and counts.c["sent"] > 0
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["check", "stream", "load"])
    ap.add_argument("addr")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--inputs", type=int, default=20)
    ap.add_argument("--gap", type=float, default=0.5)
    ap.add_argument("--ready-file")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--retries", type=int, default=5)
    args = ap.parse_args()
    os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
    pb = compile_protos()
    if args.mode == "check":
        result = check(args.addr, pb, args.timeout)
    elif args.mode == "stream":
        result = stream(args.addr, pb, args.inputs, args.gap, args.ready_file)
    else:
        result = load(args.addr, pb, args.seconds, args.workers, args.retries)
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
