"""The service under load: `embedroute serve` in a subprocess, N streaming clients, a latency probe.

The server runs in its own process, as deployed, so that its RSS is its own and the
clients' CPU time shows up where it would in production: on the same machine here
(2 cores), which the report states. Each client has its own HTTP/2 connection
(a local subchannel pool), as separate client processes would.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.rss import PeakRss
from bench.timing import Latency
from service.rpc.generated.embedroute.v1 import common_pb2, embed_pb2, embed_pb2_grpc

START_TIMEOUT_S = 300.0
PROBE_GAP_S = 0.5
"""Pause between probe queries under load: a light interactive load on top of the batch, as a
search box over an index being filled would be; its tokens count in the service's throughput."""
OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]

DOCUMENT = embed_pb2.EmbedOptions(input_type=common_pb2.INPUT_TYPE_DOCUMENT)
QUERY = embed_pb2.EmbedOptions(input_type=common_pb2.INPUT_TYPE_QUERY)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """`embedroute serve` on 127.0.0.1 with one models folder; its peak RSS is sampled throughout."""

    def __init__(
        self,
        models_dir: Path,
        log_path: Path,
        *,
        threads: int,
        pins: Sequence[str] = (),
        http: bool = False,
        extra: Sequence[str] = (),
    ) -> None:
        self.port = free_port()
        self.target = f"127.0.0.1:{self.port}"
        self.http_port = free_port() if http else 0
        """The HTTP front's port (bench/http_front.py); 0: off."""
        args = [
            sys.executable, "-m", "service.cli", "serve",
            "--host", "127.0.0.1", "--port", str(self.port), "--http-port", str(self.http_port),
            "--models", str(models_dir),
            "--metrics-port", "0", "--log-format", "text", "--threads", str(threads),
            "--drain-grace-seconds", "1",
            # A client streams its share of 1,000 documents for longer than the default connection age
            # (300 s + 30 s grace), after which the server ends the connection (load spreading behind
            # L4 balancers) and the stream with it; the benchmark wants one uninterrupted stream.
            "--max-connection-age-seconds", "0",
            # Benchmarks repeat their inputs (warm-up, rounds, the same rerank documents) and measure
            # the work of computing them: the vector cache would answer from memory. bench.cache turns
            # it on (its `extra` comes later and wins).
            "--cache", "off",
        ]
        for pin in pins:
            args += ["--pin", pin]
        args += list(extra)
        self._log = log_path.open("wb")
        self._process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT)
        self.rss = PeakRss(self._process.pid).start()
        self.startup_s = self._wait_healthy()

    def _wait_healthy(self) -> float:
        started = time.monotonic()
        with grpc.insecure_channel(self.target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() - started < START_TIMEOUT_S:
                if self._process.poll() is not None:
                    raise RuntimeError(f"server exited with {self._process.returncode}; see {self._log.name}")
                try:
                    reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return time.monotonic() - started
                except grpc.RpcError:
                    pass
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server not SERVING after {START_TIMEOUT_S:.0f}s; see {self._log.name}")

    def stop(self) -> int:
        """Stops the server (SIGTERM, then SIGKILL); returns its peak RSS in bytes."""
        peak = self.rss.stop()
        self._process.terminate()
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()
        return peak

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process.poll() is None:
            self.stop()


@dataclass(frozen=True)
class QueryTiming:
    seconds: float
    """As the client saw it: send to answer."""
    tokens: int
    engine_seconds: float
    """What the server reports spending in the engine (tokenisation and decodes): the raw engine's share."""
    server_seconds: float
    """What the server reports from receiving the request to building the reply."""

    @property
    def overhead_seconds(self) -> float:
        """What the service adds over the engine: gRPC both ways, validation, queueing hand-offs, replies."""
        return self.seconds - self.engine_seconds

    @property
    def transport_seconds(self) -> float:
        """The overhead's part outside the handler: both gRPC stacks and loopback."""
        return self.seconds - self.server_seconds


def query_once(stub: embed_pb2_grpc.EmbedServiceStub, model: str, query: str) -> QueryTiming:
    started = time.perf_counter()
    reply = stub.Embed(embed_pb2.EmbedRequest(model=model, inputs=[query], options=QUERY), timeout=120)
    seconds = time.perf_counter() - started
    usage = reply.usage
    engine_ns = usage.tokenization_time_ns + usage.inference_time_ns
    return QueryTiming(seconds, usage.prompt_tokens, engine_ns / 1e9, usage.total_time_ns / 1e9)


@dataclass(frozen=True)
class IdleQueries:
    latency: Latency
    overhead: Latency
    """Per query, client-side latency minus the server's engine time: measured on each query, so
    it does not drown in the engine's own variation as a difference of two medians would."""
    transport: Latency
    """The overhead's part outside the handler: both gRPC stacks and loopback (client latency - server total)."""

    def to_dict(self) -> dict[str, Any]:
        return {**self.latency.to_dict(), "overhead": self.overhead.to_dict(), "transport": self.transport.to_dict()}


def idle_latency(target: str, model: str, queries: Sequence[str]) -> IdleQueries:
    with grpc.insecure_channel(target) as channel:
        stub = embed_pb2_grpc.EmbedServiceStub(channel)
        query_once(stub, model, queries[0])
        timings = [query_once(stub, model, q) for q in queries]
    return IdleQueries(
        Latency.of([t.seconds for t in timings]),
        Latency.of([t.overhead_seconds for t in timings]),
        Latency.of([t.transport_seconds for t in timings]),
    )


class Probe:
    """Single queries, one at a time, on their own connection and thread while the load runs."""

    def __init__(self, target: str, model: str, queries: Sequence[str], *, count: int | None = None) -> None:
        """`count`: stop after that many queries (`wait` returns then); None: until the `with` ends."""
        self._target, self._model, self._queries = target, model, list(queries)
        self._count = count
        self.seconds: list[float] = []
        self.tokens = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latency-probe", daemon=True)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def wait(self) -> None:
        """Until the probe has sent its `count` queries."""
        self._thread.join()

    def _run(self) -> None:
        with grpc.insecure_channel(self._target, options=OWN_CONNECTION) as channel:
            stub = embed_pb2_grpc.EmbedServiceStub(channel)
            i = 0
            while not self._stop.is_set():
                timing = query_once(stub, self._model, self._queries[i % len(self._queries)])
                self.seconds.append(timing.seconds)
                self.tokens += timing.tokens
                i += 1
                if i == self._count:
                    return
                self._stop.wait(PROBE_GAP_S)


@dataclass(frozen=True)
class LoadResult:
    """One pass of N clients streaming documents: with the probe it times queries, without it throughput."""

    clients: int
    n_docs: int
    n_tokens: int
    """Prompt tokens of the documents."""
    seconds: float
    probe_tokens: int = 0
    """Prompt tokens of the probe's queries answered during the load."""
    query_under_load: Latency | None = None

    @property
    def tok_per_s(self) -> float:
        return (self.n_tokens + self.probe_tokens) / self.seconds

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "clients": self.clients,
            "n_docs": self.n_docs,
            "n_tokens": self.n_tokens,
            "seconds": self.seconds,
            "tok_per_s": self.tok_per_s,
        }
        if self.query_under_load is not None:
            result.update(probe_tokens=self.probe_tokens, query_under_load=self.query_under_load.to_dict())
        return result


async def _stream_client(target: str, model: str, docs: Sequence[str], tag: int) -> int:
    """Streams `docs` through EmbedStream on one connection; returns the prompt tokens reported."""

    async def requests() -> AsyncIterator[embed_pb2.EmbedStreamRequest]:
        for i, doc in enumerate(docs):
            yield embed_pb2.EmbedStreamRequest(id=f"{tag}-{i}", model=model, input=doc, options=DOCUMENT)

    tokens = 0
    received = 0
    async with grpc.aio.insecure_channel(target, options=OWN_CONNECTION) as channel:
        stub = embed_pb2_grpc.EmbedServiceStub(channel)
        async for reply in stub.EmbedStream(requests()):
            tokens += reply.embedding.prompt_tokens
            received += 1
    if received != len(docs):
        raise RuntimeError(f"client {tag} sent {len(docs)} documents and got {received} embeddings")
    return tokens


async def _load(target: str, model: str, docs: Sequence[str], clients: int) -> tuple[int, float]:
    started = time.perf_counter()
    counts = await asyncio.gather(*(_stream_client(target, model, docs[c::clients], c) for c in range(clients)))
    return sum(counts), time.perf_counter() - started


def run_load(target: str, model: str, docs: Sequence[str], clients: int) -> LoadResult:
    """Throughput: the documents alone."""
    tokens, seconds = asyncio.run(_load(target, model, docs, clients))
    return LoadResult(clients, len(docs), tokens, seconds)


def run_probed_load(target: str, model: str, docs: Sequence[str], queries: Sequence[str], clients: int) -> LoadResult:
    """Latency under load: the same documents again, with the probe's queries among them.

    A separate pass from the throughput one: on a CPU each query gets a decode of its own
    (service/engine/stepper.py), which keeps its latency low and costs the documents that
    time, and its calls share the two cores; measured together, the throughput would depend
    on how many queries the probe sends.
    """
    with Probe(target, model, queries) as probe:
        load = run_load(target, model, docs, clients)
        probe_tokens = probe.tokens  # read before the probe stops: queries answered after the load do not count
    return replace(load, probe_tokens=probe_tokens, query_under_load=Latency.of(probe.seconds))
