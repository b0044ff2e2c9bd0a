"""Every HTTP request gets a request id, a span, metrics and one access-log line; with API keys,
every route but health needs `authorization: Bearer KEY`.

Pure ASGI middleware (no per-request task or body buffering, unlike Starlette's
BaseHTTPMiddleware), outermost in the stack, so that a request refused for its key is
counted and logged like any other. The request id comes from the caller's
`x-request-id` when it is safe to log, else is made up; it is set for the request's
task (service.core.logs.request_id) and sent back in the `x-request-id` header, as the
gRPC front sends it in trailers. Metrics are `http_server_requests_total` and
`http_server_request_duration_seconds` by method, route and status, on the server's
metrics registry beside the gRPC ones. A request whose client leaves first is cancelled
(service.http.disconnect) and logged with status 499; one still running when the drain's grace
ends gets the API's 503 with Retry-After. The access-log line and the metrics are written before
the answer's last bytes are sent, so a client that has its answer finds them.

Calls are admitted here, as service.rpc.admission admits gRPC's: health routes always, every
other request within `max_concurrent_rpcs` in flight, the rest refused at once with 429 and
Retry-After in its API's error body. A connection is not a call: one that sends no request
holds no slot (service.http.protocol closes it).
"""

from __future__ import annotations

import asyncio
import logging
import time

from prometheus_client import Counter, Histogram

from service.telemetry.metrics import LATENCY_BUCKETS, Metrics
from service.telemetry.tracing import Tracer
from service.core import logs
from service.core.errors import EmbedrouteError, ResourceExhaustedError, UnauthenticatedError, UnavailableError
from service.core.keys import KeyRing, adopt_tenant
from service.http.asgi import ASGIApp, Message, Receive, Scope, Send
from service.http.disconnect import CLIENT_CLOSED, run_until_disconnect
from service.http.errors import dialect_of, error_response
from service.http.fields import NONE

OPEN_PATHS = frozenset({"/health", "/livez", "/readyz"})
"""Kubernetes' probes and load balancers' health checks need no key (and `/readyz/MODEL`, see is_open)."""


def is_open(path: str) -> bool:
    """A health route: no key, no call slot."""
    return path in OPEN_PATHS or path.startswith("/readyz/")

log = logging.getLogger("embedroute.access")


class HttpMetrics:
    def __init__(self, metrics: Metrics) -> None:
        labels = ["method", "route", "status"]
        self.requests = Counter("http_server_requests", "HTTP requests answered, by status.", labels,
                                registry=metrics.registry)
        self.seconds = Histogram("http_server_request_duration_seconds", "Time from a request to its answer.", labels,
                                 buckets=LATENCY_BUCKETS, registry=metrics.registry)


class Calls:
    """The bookkeeping and the key check around the routes."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None, tracer: Tracer, keys: frozenset[str] | None,
                 routes: frozenset[str], max_in_flight: int) -> None:
        self._app = app
        self._max_in_flight = max_in_flight
        """Calls of the routes that need a slot, at once; 0 = unbounded."""
        self.in_flight = 0
        self._metrics = HttpMetrics(metrics) if metrics is not None else None
        self._tracer = tracer
        self._keys = KeyRing(keys) if keys is not None else None
        self._routes = routes
        """Known paths: metrics label unknown ones "other", so a scanner cannot grow the label set."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        rid = logs.adopt_request_id(headers.get(logs.REQUEST_ID_HEADER, ""))
        adopt_tenant(headers.get("authorization", ""))
        method: str = scope["method"]
        path: str = scope["path"]
        started = time.perf_counter()
        status = [500]
        answering = recorded = False

        def record() -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                self._record(method, path, status[0], time.perf_counter() - started, rid)

        async def send_with_id(message: Message) -> None:
            nonlocal answering
            if message["type"] == "http.response.start":
                answering = True
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", []), (logs.REQUEST_ID_HEADER.encode(), rid.encode())]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                record()  # before the answer's last bytes leave: whoever has the answer finds the line logged
            await send(message)

        with self._tracer.span("http", f"{method} {path}", list(headers.items())) as span:
            admitted = is_open(path) or self._enter()
            try:
                error: EmbedrouteError
                if not admitted:
                    error = ResourceExhaustedError(f"{self._max_in_flight} calls are in flight; retry later")
                    await error_response(dialect_of(path), error, NONE)(scope, receive, send_with_id)
                elif self._refused(path, headers):
                    error = UnauthenticatedError("missing or unknown API key: send `authorization: Bearer KEY`")
                    await error_response(dialect_of(path), error, NONE)(scope, receive, send_with_id)
                elif await run_until_disconnect(self._app, scope, receive, send_with_id):
                    status[0] = CLIENT_CLOSED
            except asyncio.CancelledError:
                if answering or not _uncancel():
                    raise
                # The drain's grace ended with this request unanswered: uvicorn cancels it; its client
                # gets the API's 503 with Retry-After, as a request arriving while draining does.
                error = UnavailableError("the server shut down before this request finished", reason="DRAINING")
                await error_response(dialect_of(path), error, NONE)(scope, receive, send_with_id)
            finally:
                if admitted and not is_open(path):
                    self.in_flight -= 1
                span.finish(str(status[0]))
                record()

    def _enter(self) -> bool:
        """Takes a slot; False when every slot is taken. Touched only on the event loop."""
        if self._max_in_flight and self.in_flight >= self._max_in_flight:
            return False
        self.in_flight += 1
        return True

    def _refused(self, path: str, headers: dict[str, str]) -> bool:
        return self._keys is not None and not is_open(path) and not self._keys.allows(headers.get("authorization", ""))

    def _record(self, method: str, path: str, status: int, elapsed: float, rid: str) -> None:
        route = path if path in self._routes else "other"
        if self._metrics is not None:
            self._metrics.requests.labels(method, route, str(status)).inc()
            self._metrics.seconds.labels(method, route, str(status)).observe(elapsed)
        log.info("%s %s %d %.1fms", method, route, status, elapsed * 1000,
                 extra={"http_method": method, "http_route": route, "http_status": status,
                        "duration_ms": round(elapsed * 1000, 3), "request_id": rid})


def _uncancel() -> bool:
    """Takes back the cancellation of this task (the drain's); False when none is pending."""
    task = asyncio.current_task()
    return task is not None and task.uncancel() == 0


__all__ = ["OPEN_PATHS", "Calls", "is_open"]
