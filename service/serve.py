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
import signal
import time
from pathlib import Path

import router
from service.app import Application, Registry, ServedModel
from service.app.metrics import Metrics, MetricsEndpoint
from service.core.config import Settings
from service.http import HttpFront
from service.prepare.pull.startup import prepare_models
from service.rpc.server import RpcFront

log = logging.getLogger(__name__)


class EmbedrouteServer:
    """One process's models, application and fronts; create it on the loop that will run it."""

    def __init__(self, settings: Settings, plans: list[router.ModelPlan]) -> None:
        self.settings = settings
        self.registry = Registry(plans)
        self.app = Application(self.registry, settings)
        self.metrics = Metrics() if settings.metrics_port else None
        self.rpc = RpcFront(self.app, settings, self.metrics)
        self.http = HttpFront(self.app, settings, self.metrics) if settings.http_port else None
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
            self._metrics_endpoint = MetricsEndpoint(self.metrics, self.settings.host, self.settings.metrics_port)
            self.metrics_port = self._metrics_endpoint.port
            log.info("metrics on %s:%d", self.settings.host, self.metrics_port, extra={"metrics_port": self.metrics_port})
        return self.port

    async def load_models(self) -> None:
        self._settled_at = time.monotonic()
        await self.registry.load_all(self.settings, self._on_model_change)
        ready = {m.kind for m in self.registry.models() if m.state == "ready"}
        await self.rpc.models_changed(ready, self.registry.reranks_by_cosine, settled=True)
        log.info("%d of %d models ready", sum(m.state == "ready" for m in self.registry.models()),
                 len(self.registry.models()))

    async def _on_model_change(self, served: ServedModel) -> None:
        now = time.monotonic()  # models load one after another: this one took since the last settled
        load_seconds, self._settled_at = now - self._settled_at, now
        if self.metrics is not None:
            self.metrics.observe_model(served, load_seconds)
        ready = {m.kind for m in self.registry.models() if m.state == "ready"}
        await self.rpc.models_changed(ready, self.registry.reranks_by_cosine, settled=False)

    async def shutdown(self, grace_s: float | None = None) -> None:
        """Health NOT_SERVING, refuse new calls, let calls in flight finish, then free the models."""
        grace = self.settings.drain_grace_seconds if grace_s is None else grace_s
        log.info("draining: calls in flight get %.1fs", grace)
        self.app.draining = True
        fronts = [self.rpc.stop(grace)] + ([self.http.stop(grace)] if self.http is not None else [])
        await asyncio.gather(*fronts)  # both fronts drain at once, within the one grace
        await asyncio.to_thread(self.registry.close, grace)
        if self._metrics_endpoint is not None:
            self._metrics_endpoint.close()
        log.info("stopped")


def plan(settings: Settings) -> list[router.ModelPlan]:
    """The router's choice for every model found in the configured folders."""
    pins = {model_id: router.Pin.parse(choice) for model_id, choice in settings.pins.items()}
    prefs = router.RouterPrefs(
        n_ctx=settings.ctx, n_batch=settings.step_tokens, pins=pins, max_threads=settings.threads
    )
    return router.plan_models(list(settings.models), prefs)


async def serve(settings: Settings, plans: list[router.ModelPlan] | None = None) -> None:
    """Runs until SIGTERM or SIGINT, then drains; `plans` None: prepare the default model if
    needed, then plan."""
    if plans is None:
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
