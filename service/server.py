"""Wiring, in start-up order: plans -> gRPC server (health NOT_SERVING) -> load models -> serve.

The port opens before the models load, so that Kubernetes' startup probe and
grpcurl can see the server come up and watch each service turn SERVING as its
model is ready. Shutdown (SIGTERM) is the reverse: health goes NOT_SERVING, new
calls are refused with UNAVAILABLE, calls in flight get `drain_grace_seconds` to
finish, then the model workers stop and free their models.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

import router
from service.api.embedroute.v1 import (
    embed_pb2,
    embed_pb2_grpc,
    model_pb2,
    model_pb2_grpc,
    rerank_pb2,
    rerank_pb2_grpc,
    tokenize_pb2,
    tokenize_pb2_grpc,
)
from service import reflection
from service.auth import ApiKeyInterceptor, api_keys
from service.calls import CallRecorder
from service.config import Settings
from service.metrics import Metrics, MetricsEndpoint
from service.registry import Registry, ServedModel
from service.pull.startup import prepare_models
from service.servicers import EmbedServicer, ModelServicer, RerankServicer, Services, TokenizeServicer
from service.tracing import Tracer

log = logging.getLogger(__name__)

EMBED = embed_pb2.DESCRIPTOR.services_by_name["EmbedService"].full_name
RERANK = rerank_pb2.DESCRIPTOR.services_by_name["RerankService"].full_name
TOKENIZE = tokenize_pb2.DESCRIPTOR.services_by_name["TokenizeService"].full_name
MODELS = model_pb2.DESCRIPTOR.services_by_name["ModelService"].full_name
SERVICE_NAMES = (EMBED, RERANK, TOKENIZE, MODELS)
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def server_options(settings: Settings) -> list[tuple[str, Any]]:
    options: list[tuple[str, Any]] = [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.keepalive_time_ms", int(settings.keepalive_time_seconds * 1000)),
        ("grpc.keepalive_timeout_ms", int(settings.keepalive_timeout_seconds * 1000)),
        ("grpc.keepalive_permit_without_calls", 1),
        # Clients may ping every 10 s (their keepalive) without being sent GOAWAY(too_many_pings).
        ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
        ("grpc.http2.max_ping_strikes", 2),
        # A second server on the same port must fail loudly, not share it.
        ("grpc.so_reuseport", 0),
    ]
    if settings.max_connection_age_seconds > 0:
        options += [
            ("grpc.max_connection_age_ms", int(settings.max_connection_age_seconds * 1000)),
            ("grpc.max_connection_age_grace_ms", int(settings.max_connection_age_grace_seconds * 1000)),
        ]
    return options


class EmbedrouteServer:
    def __init__(self, settings: Settings, plans: list[router.ModelPlan]) -> None:
        self.settings = settings
        self.registry = Registry(plans)
        self.services = Services(self.registry, settings)
        self.health = HealthServicer()
        self.metrics = Metrics() if settings.metrics_port else None
        self._metrics_endpoint: MetricsEndpoint | None = None
        self.metrics_port = 0
        recorder = CallRecorder(self.metrics, Tracer(settings.otel_tracing))
        keys = api_keys(settings)
        self._server = grpc.aio.server(
            options=server_options(settings),
            maximum_concurrent_rpcs=settings.max_concurrent_rpcs or None,
            interceptors=[ApiKeyInterceptor(keys, recorder)] if keys is not None else [],
        )
        registrar = recorder.registrar(self._server)
        embed_pb2_grpc.add_EmbedServiceServicer_to_server(EmbedServicer(self.services), registrar)
        rerank_pb2_grpc.add_RerankServiceServicer_to_server(RerankServicer(self.services), registrar)
        tokenize_pb2_grpc.add_TokenizeServiceServicer_to_server(TokenizeServicer(self.services), registrar)
        model_pb2_grpc.add_ModelServiceServicer_to_server(ModelServicer(self.services), registrar)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, registrar)
        reflection.enable((*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name), registrar)
        self.port = 0
        self._settled_at = 0.0

    async def start(self) -> int:
        """Opens the port with every model service NOT_SERVING; returns the bound port."""
        for name in ("", EMBED, RERANK, TOKENIZE):
            await self.health.set(name, NOT_SERVING)
        await self.health.set(MODELS, SERVING)
        address = f"{self.settings.host}:{self.settings.port}"
        credentials = _tls_credentials(self.settings)
        if credentials is None:
            self.port = self._server.add_insecure_port(address)
        else:
            self.port = self._server.add_secure_port(address, credentials)
        await self._server.start()
        log.info("listening on %s:%d", self.settings.host, self.port, extra={"port": self.port})
        if self.metrics is not None:
            self._metrics_endpoint = MetricsEndpoint(self.metrics, self.settings.host, self.settings.metrics_port)
            self.metrics_port = self._metrics_endpoint.port
            log.info("metrics on %s:%d", self.settings.host, self.metrics_port, extra={"metrics_port": self.metrics_port})
        return self.port

    async def load_models(self) -> None:
        self._settled_at = time.monotonic()
        await self.registry.load_all(self.settings, self._on_model_change)
        ready = [m for m in self.registry.models() if m.state == "ready"]
        await self.health.set("", SERVING if ready else NOT_SERVING)
        log.info("%d of %d models ready", len(ready), len(self.registry.models()))

    async def _on_model_change(self, served: ServedModel) -> None:
        now = time.monotonic()  # models load one after another: this one took since the last settled
        load_seconds, self._settled_at = now - self._settled_at, now
        if self.metrics is not None:
            self.metrics.observe_model(served, load_seconds)
        ready = {m.kind for m in self.registry.models() if m.state == "ready"}
        if "embedding" in ready:
            await self.health.set(EMBED, SERVING)
        if "reranker" in ready or ("embedding" in ready and self.registry.reranks_by_cosine):
            await self.health.set(RERANK, SERVING)
        if ready:
            await self.health.set(TOKENIZE, SERVING)

    async def shutdown(self, grace_s: float | None = None) -> None:
        """Health NOT_SERVING, refuse new calls, let calls in flight finish, then free the models."""
        grace = self.settings.drain_grace_seconds if grace_s is None else grace_s
        log.info("draining: calls in flight get %.1fs", grace)
        self.services.draining = True
        await self.health.enter_graceful_shutdown()
        await self._server.stop(grace)
        await asyncio.to_thread(self.registry.close, grace)
        if self._metrics_endpoint is not None:
            self._metrics_endpoint.close()
        log.info("stopped")


def _tls_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    if settings.tls_cert is None and settings.tls_key is None:
        return None
    if settings.tls_cert is None or settings.tls_key is None:
        raise ValueError("TLS needs both tls_cert and tls_key")
    client_ca = settings.tls_client_ca.read_bytes() if settings.tls_client_ca else None
    return grpc.ssl_server_credentials(
        [(settings.tls_key.read_bytes(), settings.tls_cert.read_bytes())],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )


def plan(settings: Settings) -> list[router.ModelPlan]:
    """The router's choice for every model found in the configured folders."""
    pins = {model_id: router.Pin.parse(choice) for model_id, choice in settings.pins.items()}
    prefs = router.RouterPrefs(
        n_ctx=settings.ctx, n_batch=settings.step_tokens, pins=pins, max_threads=settings.threads
    )
    return router.plan_models(list(settings.models), prefs)


async def serve(settings: Settings) -> None:
    """Runs until SIGTERM or SIGINT, then drains."""
    prefs = router.RouterPrefs(n_ctx=settings.ctx, n_batch=settings.step_tokens, max_threads=settings.threads)
    await asyncio.to_thread(prepare_models, list(settings.models), prefs)  # no model configured: the default
    missing = [str(p) for p in settings.models if not Path(p).is_dir()]
    if missing:
        log.warning("models folder(s) not found: %s", ", ".join(missing))
    plans = await asyncio.to_thread(plan, settings)
    server = EmbedrouteServer(settings, plans)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loading = asyncio.create_task(server.load_models())
    await stop.wait()
    loading.cancel()
    await server.shutdown()
