"""Start-up, in order: default model -> router plans -> application -> fronts (gRPC with health
NOT_SERVING, and HTTP) -> load models -> serve.

This is the composition root: the only module that sees every package. Shutdown
(SIGTERM) is the reverse: health goes NOT_SERVING, new calls are refused with
UNAVAILABLE, calls in flight get `drain_grace_seconds` to finish, then the model
workers stop and free their models.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import ssl
import time
from typing import cast

import router
from router.hardware import format_bytes
from service.app import Application, Registry, ServedModel
from service.app.cache import open_cache
from service.telemetry.metrics import Metrics, MetricsEndpoint
from service.core.config import Settings, flash_attn_choice
from router.errors import ConfigError
from router.types import PoolingChoice
from service.batch import BatchJobs
from service.http import HttpFront, batch_endpoints
from service.prepare.pull.startup import prepare_models
from service.rpc.batch_lines import rpc_endpoints
from service.rpc.server import RpcFront

log = logging.getLogger(__name__)

DEFAULT_MODELS = Settings().models


class EmbedrouteServer:
    """One process's models, application and fronts; create it on the loop that will run it."""

    def __init__(self, settings: Settings, plans: list[router.ModelPlan]) -> None:
        self.settings = settings
        self.registry = Registry(plans, settings.default_model)
        self.app = Application(self.registry, settings, cache=open_cache(settings))
        self.metrics = Metrics() if settings.metrics_port else None
        if self.metrics is not None and self.app.cache is not None:
            self.metrics.observe_cache(self.app.cache)
        self.jobs = (BatchJobs(settings, {**batch_endpoints(self.app, settings), **rpc_endpoints(self.app)})
                     if settings.data_dir or settings.jobs_store else None)
        self.rpc = RpcFront(self.app, settings, self.metrics, self.jobs)
        self.http = HttpFront(self.app, settings, self.metrics, self.jobs) if settings.http_port else None
        self._metrics_endpoint: MetricsEndpoint | None = None
        self.port = 0
        self.http_port = 0
        self.metrics_port = 0
        self._settled_at = 0.0

    async def start(self) -> int:
        """Opens the ports (gRPC with every model service NOT_SERVING, HTTP, metrics); returns the gRPC port."""
        self.port = await self.rpc.start()
        log.info("listening on %s:%d", self.settings.host, self.port, extra={"port": self.port})
        if self.http is not None:
            self.http_port = await self.http.start()
            log.info("HTTP on %s:%d", self.settings.host, self.http_port, extra={"http_port": self.http_port})
        if self.metrics is not None:
            host = self.settings.metrics_host or self.settings.host
            self._metrics_endpoint = MetricsEndpoint(self.metrics, host, self.settings.metrics_port)
            self.metrics_port = self._metrics_endpoint.port
            log.info("metrics on %s:%d", host, self.metrics_port, extra={"metrics_port": self.metrics_port})
        if self.jobs is not None:
            self.jobs.start()
        return self.port

    async def load_models(self) -> None:
        self._settled_at = time.monotonic()
        await self.registry.load_all(self.settings, self._on_model_change)
        ready = {m.kind for m in self.registry.models() if m.state == "ready"}
        await self.rpc.models_changed(ready, self.registry.reranks_by_cosine, serving=self.app.unready() is None)
        log.info("%d of %d models ready", sum(m.state == "ready" for m in self.registry.models()),
                 len(self.registry.models()))

    async def _on_model_change(self, served: ServedModel) -> None:
        now = time.monotonic()  # models load one after another: this one took since the last settled
        load_seconds, self._settled_at = now - self._settled_at, now
        if self.metrics is not None:
            self.metrics.observe_model(served, load_seconds)
        ready = {m.kind for m in self.registry.models() if m.state == "ready"}
        await self.rpc.models_changed(ready, self.registry.reranks_by_cosine, serving=None)

    async def shutdown(self, grace_s: float | None = None) -> None:
        """Health NOT_SERVING, refuse new calls, let calls in flight finish, then free the models."""
        grace = self.settings.drain_grace_seconds if grace_s is None else grace_s
        log.info("draining: calls in flight get %.1fs", grace)
        if self.jobs is not None:
            await self.jobs.stop()
        self.app.draining = True
        fronts = [self.rpc.stop(grace)] + ([self.http.stop(grace)] if self.http is not None else [])
        await asyncio.gather(*fronts)  # both fronts drain at once, within the one grace
        if self.jobs is not None:
            await self.jobs.close()
        await asyncio.to_thread(self.registry.close, grace)
        if self.app.cache is not None:
            await self.app.cache.close()
        if self._metrics_endpoint is not None:
            self._metrics_endpoint.close()
        log.info("stopped")


def preflight(settings: Settings) -> None:
    """What would fail only once the server starts, checked before anything starts: the ports are
    free, and the TLS files exist, are readable and belong together."""
    check_models_folders(settings)
    for name, host, port in (
        ("port", settings.host, settings.port),
        ("metrics_port", settings.metrics_host or settings.host, settings.metrics_port),
        ("http_port", settings.host, settings.http_port),
    ):
        if port:
            _check_port_free(name, host, port)
    check_tls_files(settings)


def _check_port_free(name: str, host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC binds: TIME_WAIT is no conflict
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            raise ConfigError(name, f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def check_tls_files(settings: Settings) -> None:
    if settings.tls_cert is None and settings.tls_key is None:
        return
    if settings.tls_cert is None or settings.tls_key is None:
        raise ConfigError("tls_cert" if settings.tls_cert is None else "tls_key", "TLS needs both tls_cert and tls_key")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    files = {"tls_cert": settings.tls_cert, "tls_key": settings.tls_key, "tls_client_ca": settings.tls_client_ca}
    for name, path in files.items():
        if path is not None and not os.access(path, os.R_OK):
            raise ConfigError(name, f"{path} does not exist or cannot be read")
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except ssl.SSLError as exc:
        raise ConfigError("tls_key", f"{settings.tls_key} is not the key of {settings.tls_cert} ({exc.reason})") from exc
    if settings.tls_client_ca is not None:
        try:
            context.load_verify_locations(settings.tls_client_ca)
        except ssl.SSLError as exc:
            raise ConfigError("tls_client_ca", f"{settings.tls_client_ca} holds no PEM certificate ({exc.reason})") from exc


def check_models_folders(settings: Settings) -> None:
    """A models folder the operator named must exist: only the default location (created on
    first start) or an empty folder that exists gets the default model. Filling a mistyped path
    with a 384-dimension MiniLM would serve vectors of a model nobody asked for."""
    if settings.models == DEFAULT_MODELS:
        return
    missing = [str(p) for p in settings.models if not p.is_dir()]
    if missing:
        raise ConfigError(
            "models",
            f"folder {', '.join(missing)} does not exist; fix the path, or create it empty to get the default model",
        )


def plan(settings: Settings) -> list[router.ModelPlan]:
    """The router's choice for every model found in the configured folders.

    A context the operator set that leaves a model no file that fits is a setting that
    cannot work: refused here, instead of loading and running out of memory."""
    pins = {model_id: router.Pin.parse(choice) for model_id, choice in settings.pins.items()}
    prefs = router.RouterPrefs(
        n_ctx=settings.ctx,
        n_batch=settings.step_tokens,
        n_seq_max=settings.max_sequences,
        flash_attn=flash_attn_choice(settings.flash_attention),
        pins=router.merge_consistent(pins, settings.consistent),
        max_threads=settings.threads,
        pooling=cast("dict[str, PoolingChoice]", settings.pooling),
        share_prefixes=settings.share_prefixes,
        prefix_cache_cells=settings.prefix_cache_cells,
    )
    plans = router.plan_models(list(settings.models), prefs)
    for p in plans:
        if settings.ctx and not p.refusal and not any(c.fits for c in p.candidates):
            would = router.fitting_context(p.chosen, prefs, p.budget)
            offer = f"{would} tokens would fit" if would else "not even 256 tokens would fit"
            raise ConfigError(
                "ctx",
                f"{p.model_id} needs {format_bytes(p.chosen.estimated_bytes)} at {settings.ctx} tokens per sequence, "
                f"more than the {format_bytes(p.budget.ram_bytes + p.budget.gpu_bytes)} available; lower ctx "
                f"({offer})",
            )
    return plans


async def serve(settings: Settings, plans: list[router.ModelPlan] | None = None) -> None:
    """Runs until SIGTERM or SIGINT, then drains; `plans` None: prepare the default model if
    needed, then plan. The caller has run `preflight` (service.cli does, before logging starts). The signal handlers come first: a SIGTERM while the default model is
    prepared (seconds to minutes) ends the start-up as soon as that step returns, instead of
    being ignored until the kubelet kills the process at the end of its grace period."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if plans is None:
        prefs = router.RouterPrefs(n_ctx=settings.ctx, n_batch=settings.step_tokens, max_threads=settings.threads)
        await asyncio.to_thread(prepare_models, list(settings.models), prefs)  # no model configured: the default
        if stop.is_set():
            log.info("stopped during start-up")
            return
        plans = await asyncio.to_thread(plan, settings)
    server = EmbedrouteServer(settings, plans)
    await server.start()
    loading = asyncio.create_task(server.load_models())
    await stop.wait()
    loading.cancel()
    await server.shutdown()
