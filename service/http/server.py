"""The HTTP front: a Starlette app served by uvicorn on the process's one event loop.

uvicorn runs as a task beside the gRPC server (`HttpFront.start`), on a socket bound
here so that port 0 reports the port it got; its own signal handling is off, since
service.serve owns SIGTERM and drains both fronts together: the application refuses
new calls (503), then uvicorn closes idle connections and gives requests in flight the
grace before cancelling them. The stack, outermost first: service.http.calls (request
id, access log, metrics, span, API keys) -> Starlette's router -> one package per API dialect.
With a `data_dir` or `jobs_store`, OpenAI's package also serves the batch API's files and jobs (service.batch), whose
lines run through `batch_endpoints`: the same translation as the live routes.
TLS, the bound on calls in flight and the body limit come from the same settings as gRPC's; calls
are admitted by service.http.calls (not by uvicorn's `limit_concurrency`, which counts
connections, so idle sockets took every slot), and connections are bounded by
service.http.protocol (a header deadline and a header size).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import ssl
from collections.abc import Iterator
from typing import TypedDict

import uvicorn
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from service.app import Application
from service.batch import BatchJobs, Endpoints
from service.telemetry.metrics import Metrics
from service.telemetry.tracing import Tracer
from service.core.config import Settings
from service.core.keys import api_keys
from service.core.logs import REQUEST_ID_HEADER
from service.http.calls import Calls
from service.http.cohere import CohereRoutes
from service.http.health import HealthRoutes
from service.http.ollama import OllamaRoutes
from service.http.openai import BatchRoutes, FileRoutes, OpenAIRoutes
from service.http.protocol import protocol_for
from service.http.tei import TeiRoutes


ANSWER_AFTER_GRACE_S = 2.0
"""How long the requests cancelled at the grace's end get to send their 503 before the models close."""


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """service.serve handles SIGTERM and SIGINT for every front; uvicorn must not take them."""
        yield


def batch_endpoints(app: Application, settings: Settings) -> Endpoints:
    """What answers a batch line of each endpoint a job may name: the live route's translation."""
    tei = TeiRoutes(app, settings)
    return {
        "/v1/embeddings": OpenAIRoutes(app, settings).embeddings_line,
        "/v1/rerank": CohereRoutes(app, settings, tei).rerank_line,
    }


def asgi_app(app: Application, settings: Settings, metrics: Metrics | None, jobs: BatchJobs | None = None) -> Calls:
    tei = TeiRoutes(app, settings)
    routes = [
        *OpenAIRoutes(app, settings).routes(),
        *CohereRoutes(app, settings, tei).routes(),
        *tei.routes(),
        *OllamaRoutes(app, settings).routes(),
        *HealthRoutes(app).routes(),
    ]
    if jobs is not None:
        routes += [*FileRoutes(jobs).routes(), *BatchRoutes(jobs, settings).routes()]
    paths = frozenset(r.path for r in routes if "{" not in r.path)
    return Calls(Starlette(routes=routes), metrics, Tracer(settings.otel_tracing), api_keys(settings), paths,
                 settings.max_concurrent_rpcs)


def with_cors(calls: Calls, origins: list[str]) -> ASGIApp:
    """CORS outside the calls' bookkeeping: a browser's preflight carries no API key and is not a
    call, so it is answered before keys and admission; answers to real calls get the headers."""
    if not origins:
        return calls
    return CORSMiddleware(
        calls, allow_origins=origins, allow_methods=["GET", "POST", "DELETE"], allow_headers=["*"],
        expose_headers=[REQUEST_ID_HEADER, "retry-after", "retry-after-ms"], max_age=600,
    )


class HttpFront:
    """Create it on the event loop that will run it; `start` binds `settings.http_port`."""

    def __init__(
        self, app: Application, settings: Settings, metrics: Metrics | None, jobs: BatchJobs | None = None
    ) -> None:
        self.settings = settings
        self.calls = asgi_app(app, settings, metrics, jobs)
        """The outermost ASGI layer, whose `in_flight` counts the calls admitted."""
        self._config = uvicorn.Config(
            with_cors(self.calls, settings.cors_allow_origins),
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            http=protocol_for(settings),
            **_tls(settings),
        )
        self._server = _Server(self._config)
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    async def start(self) -> int:
        sock = _bind(self.settings.host, self.settings.http_port)
        self.port = sock.getsockname()[1]
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="http-front")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise RuntimeError("the HTTP front stopped while starting")
            await asyncio.sleep(0.01)
        return self.port

    async def stop(self, grace_s: float) -> None:
        if self._task is None:
            return
        self._config.timeout_graceful_shutdown = math.ceil(grace_s)
        self._server.should_exit = True
        await self._task
        # uvicorn cancels the requests still running at the grace's end and returns at once; each
        # answers its client 503 (service.http.calls) in its next steps: let those writes happen.
        unanswered = list(self._server.server_state.tasks)
        if unanswered:
            await asyncio.wait(unanswered, timeout=ANSWER_AFTER_GRACE_S)


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that port 0 tells its port before uvicorn serves it.

    IPPROTO_TCP must be named: asyncio turns Nagle off (TCP_NODELAY) only on accepted sockets
    whose protocol says TCP, and with it on, every keep-alive response waited ~40 ms for the
    client's delayed ACK between its header and body writes (measured: 44 ms -> 0.4 ms a GET)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class _Tls(TypedDict, total=False):
    ssl_certfile: str
    ssl_keyfile: str
    ssl_ca_certs: str
    ssl_cert_reqs: int


def _tls(settings: Settings) -> _Tls:
    """The gRPC front's TLS settings, mTLS included, as uvicorn's options."""
    if settings.tls_cert is None and settings.tls_key is None:
        return {}
    if settings.tls_cert is None or settings.tls_key is None:
        raise ValueError("TLS needs both tls_cert and tls_key")
    options = _Tls(ssl_certfile=str(settings.tls_cert), ssl_keyfile=str(settings.tls_key))
    if settings.tls_client_ca is not None:
        options["ssl_ca_certs"] = str(settings.tls_client_ca)
        options["ssl_cert_reqs"] = ssl.CERT_REQUIRED
    return options
