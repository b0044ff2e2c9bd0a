"""The gRPC front: one grpc.aio server with the embedroute.v1 services, TEI's tei.v1 services
(service.rpc.tei), health, reflection and auth.

The port opens before the models load, so that Kubernetes' startup probe and
grpcurl can see the server come up and watch each service turn SERVING as its
model is ready (`models_changed`). On shutdown health goes NOT_SERVING first, then
calls in flight get the grace to finish.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from service.app import Application
from service.batch import BatchJobs
from service.telemetry.metrics import Metrics
from service.telemetry.tracing import Tracer
from service.core.config import Settings
from service.rpc import reflection, tei
from service.rpc.admission import Admission
from service.rpc.auth import ApiKeyInterceptor, api_keys
from service.rpc.batch import BatchServicer
from service.rpc.calls import CallRecorder
from service.rpc.embed import EmbedServicer
from service.rpc.generated.embedroute.v1 import (
    batch_pb2,
    batch_pb2_grpc,
    embed_pb2,
    embed_pb2_grpc,
    model_pb2,
    model_pb2_grpc,
    rerank_pb2,
    rerank_pb2_grpc,
    tokenize_pb2,
    tokenize_pb2_grpc,
)
from service.rpc.models import ModelServicer
from service.rpc.rerank import RerankServicer
from service.rpc.tokenize import TokenizeServicer

EMBED = embed_pb2.DESCRIPTOR.services_by_name["EmbedService"].full_name
RERANK = rerank_pb2.DESCRIPTOR.services_by_name["RerankService"].full_name
TOKENIZE = tokenize_pb2.DESCRIPTOR.services_by_name["TokenizeService"].full_name
MODELS = model_pb2.DESCRIPTOR.services_by_name["ModelService"].full_name
BATCH = batch_pb2.DESCRIPTOR.services_by_name["BatchService"].full_name
SERVICE_NAMES = (EMBED, RERANK, TOKENIZE, MODELS)
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def server_options(settings: Settings) -> list[tuple[str, Any]]:
    options: list[tuple[str, Any]] = [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.keepalive_time_ms", int(settings.grpc.keepalive_time_seconds * 1000)),
        ("grpc.keepalive_timeout_ms", int(settings.grpc.keepalive_timeout_seconds * 1000)),
        ("grpc.keepalive_permit_without_calls", 1),
        # Clients may ping every 10 s (their keepalive) without being sent GOAWAY(too_many_pings).
        ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
        ("grpc.http2.max_ping_strikes", 2),
        # A second server on the same port must fail loudly, not share it.
        ("grpc.so_reuseport", 0),
    ]
    if settings.grpc.max_connection_age_seconds > 0:
        options += [
            ("grpc.max_connection_age_ms", int(settings.grpc.max_connection_age_seconds * 1000)),
            ("grpc.max_connection_age_grace_ms", int(settings.grpc.max_connection_age_grace_seconds * 1000)),
        ]
    return options


class RpcFront:
    """The gRPC server over one Application; create it on the event loop that will run it."""

    def __init__(
        self, app: Application, settings: Settings, metrics: Metrics | None, jobs: BatchJobs | None = None
    ) -> None:
        """With `jobs` (a `data_dir` or `jobs_store`), BatchService is served too: the HTTP front's batch jobs."""
        self.settings = settings
        self._batch = jobs is not None
        self.health = HealthServicer()
        self.admission = Admission(settings)
        recorder = CallRecorder(metrics, Tracer(settings.otel_tracing), self.admission)
        keys = api_keys(settings)
        self._server = grpc.aio.server(  # call limits are the Admission's, per class of call
            options=server_options(settings),
            interceptors=[ApiKeyInterceptor(keys, recorder)] if keys is not None else [],
        )
        registrar = recorder.registrar(self._server)
        embed_pb2_grpc.add_EmbedServiceServicer_to_server(EmbedServicer(app), registrar)
        rerank_pb2_grpc.add_RerankServiceServicer_to_server(RerankServicer(app), registrar)
        tokenize_pb2_grpc.add_TokenizeServiceServicer_to_server(TokenizeServicer(app), registrar)
        model_pb2_grpc.add_ModelServiceServicer_to_server(ModelServicer(app), registrar)
        if jobs is not None:
            batch_pb2_grpc.add_BatchServiceServicer_to_server(BatchServicer(jobs), registrar)
        tei_names = tei.register(app, registrar)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, registrar)
        health_name = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
        batch_names = (BATCH,) if jobs is not None else ()
        reflection.enable((*SERVICE_NAMES, *batch_names, *tei_names, health_name), registrar)
        self.port = 0

    async def start(self) -> int:
        """Opens the port with every model service NOT_SERVING; returns the bound port."""
        for name in ("", EMBED, RERANK, TOKENIZE, tei.EMBED, tei.RERANK, tei.TOKENIZE, tei.INFO):
            await self.health.set(name, NOT_SERVING)
        await self.health.set(MODELS, SERVING)
        if self._batch:  # jobs are taken before the models load: they wait in the store
            await self.health.set(BATCH, SERVING)
        address = f"{self.settings.host}:{self.settings.port}"
        credentials = _tls_credentials(self.settings)
        if credentials is None:
            self.port = self._server.add_insecure_port(address)
        else:
            self.port = self._server.add_secure_port(address, credentials)
        await self._server.start()
        return self.port

    async def models_changed(self, ready: AbstractSet[str], reranks_by_cosine: bool, serving: bool | None) -> None:
        """Each service turns SERVING once a model of its kind is ready; the server's overall status
        is `serving` once every model has settled (None before): the application's readiness."""
        if "embedding" in ready:
            for name in (EMBED, tei.EMBED):
                await self.health.set(name, SERVING)
        if "reranker" in ready or ("embedding" in ready and reranks_by_cosine):
            for name in (RERANK, tei.RERANK):
                await self.health.set(name, SERVING)
        if ready:
            for name in (TOKENIZE, tei.TOKENIZE, tei.INFO):
                await self.health.set(name, SERVING)
        if serving is not None:
            await self.health.set("", SERVING if serving else NOT_SERVING)

    async def stop(self, grace_s: float) -> None:
        await self.health.enter_graceful_shutdown()
        await self._server.stop(grace_s)


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
