"""Prometheus metrics, served over HTTP on their own port (`metrics_port`).

The names of the call metrics follow go-grpc-prometheus (`grpc_server_handled_total`,
`grpc_server_handling_seconds`), so existing gRPC dashboards and alerts work
unchanged; the model metrics carry the prefix `embedroute_`. Each server owns its
own `CollectorRegistry` instead of the process-wide default, so that several
servers in one process (the tests) do not share or clash over counters.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from service.app.cache import VectorCache
    from service.app.registry import ServedModel

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        call_labels = ["grpc_type", "grpc_service", "grpc_method"]
        self.started = Counter(
            "grpc_server_started", "Calls started.", call_labels, registry=self.registry
        )
        self.handled = Counter(
            "grpc_server_handled", "Calls finished, by status code.", [*call_labels, "grpc_code"], registry=self.registry
        )
        self.handling_seconds = Histogram(
            "grpc_server_handling_seconds",
            "Time from the call's start to its status, by status code.",
            [*call_labels, "grpc_code"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "embedroute_tokens", "Tokens fed to the model (prompt templates included).", ["model"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "embedroute_batch_size", "Sequences with tokens in one decode step.", ["model"], buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "embedroute_queue_depth", "Requests admitted and not yet answered, per model.", ["model"],
            registry=self.registry,
        )
        self.queue_wait = Histogram(
            "embedroute_queue_wait_seconds", "Time a request waited before its model's worker took it.",
            ["model"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.model_ready = Gauge(
            "embedroute_model_ready", "1 when the model serves, 0 while loading or after every file failed.",
            ["model"], registry=self.registry,
        )
        self.model_load_seconds = Gauge(
            "embedroute_model_load_seconds",
            "Time it took to settle the model: every candidate file tried, up to the one that loaded.",
            ["model"], registry=self.registry,
        )
        self.model = Info(
            "embedroute_model", "The router's choice for each model: file, quantisation, placement, pooling and vector space.",
            ["model"], registry=self.registry,
        )

    def observe_model(self, served: ServedModel, load_seconds: float) -> None:
        """Records a model once its loading settled (loaded, or every candidate failed)."""
        model_id = served.model_id
        self.model_ready.labels(model=model_id).set(1 if served.state == "ready" else 0)
        self.model_load_seconds.labels(model=model_id).set(load_seconds)
        chosen = served.chosen
        info: dict[str, str] = {"kind": served.kind, "state": served.state}
        if chosen is not None:
            d = chosen.description
            info |= {
                "file": d.path.name,
                "quant": d.quant,
                "device": chosen.device,
                "gpu_layers": str(chosen.n_gpu_layers),
                "threads": str(chosen.n_threads),
                "pooling": served.worker.description.pooling_note if served.worker else d.pooling_note,
                "vector_space_id": served.vector_space_id(),
                "dimensions": str(d.hidden_size),
            }
        self.model.labels(model=model_id).info(info)
        if served.worker is not None:
            served.worker.observer = ModelObserver(self, model_id)

    def observe_cache(self, cache: VectorCache) -> None:
        """The vector cache's counts, read when scraped (the cache keeps plain numbers, no metrics)."""
        self.registry.register(CacheCollector(cache))


class CacheCollector(Collector):
    """`embedroute_cache_inputs_total` by where each input's vector came from, and the bytes in use."""

    def __init__(self, cache: VectorCache) -> None:
        self._cache = cache

    def collect(self) -> Iterator[Metric]:
        stats = self._cache.stats
        inputs = CounterMetricFamily(
            "embedroute_cache_inputs",
            "Embedding inputs and rerank documents by where their vector or score came from: hit (the "
            "cache), shared (an identical input computed by a call in flight or earlier in the same call) "
            "or miss (computed).",
            labels=["result"],
        )
        for result, count in (("hit", stats.hits), ("shared", stats.shared), ("miss", stats.misses)):
            inputs.add_metric([result], count)
        yield inputs
        yield GaugeMetricFamily(
            "embedroute_cache_bytes", "Bytes the in-process vector cache holds (keys and vectors).",
            value=self._cache.store.bytes_in_use,
        )
        yield CounterMetricFamily(
            "embedroute_cache_store_errors", "Shared-store lookups and writes that failed (each one computed instead).",
            value=self._cache.store.errors,
        )


class ModelObserver:
    """One model's `WorkerObserver`: label lookups done once, not per event."""

    def __init__(self, metrics: Metrics, model_id: str) -> None:
        self._depth = metrics.queue_depth.labels(model=model_id)
        self._wait = metrics.queue_wait.labels(model=model_id)
        self._batch = metrics.batch_size.labels(model=model_id)
        self._tokens = metrics.tokens.labels(model=model_id)

    def queue_depth(self, depth: int) -> None:
        self._depth.set(depth)

    def waited(self, seconds: float) -> None:
        self._wait.observe(seconds)

    def batch(self, n_items: int, n_tokens: int) -> None:
        self._batch.observe(n_items)
        self._tokens.inc(n_tokens)


class MetricsEndpoint:
    """The HTTP server behind /metrics, on a daemon thread of its own."""

    def __init__(self, metrics: Metrics, host: str, port: int) -> None:
        server, thread = start_http_server(port, addr=host, registry=metrics.registry)
        self._server: WSGIServer = server
        self._thread: threading.Thread = thread
        self.port: int = server.server_port

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


__all__ = ["CacheCollector", "Metrics", "MetricsEndpoint", "ModelObserver"]
