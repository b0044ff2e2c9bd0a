"""The access-log line and the metrics of a request exist before its answer's last bytes leave
(issue 33, item 14: written after the answer, they raced a client that read them at once)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from service.http.asgi import Message
from service.http.calls import Calls
from service.telemetry.metrics import Metrics
from service.telemetry.tracing import Tracer


async def _hello(request: Request) -> Response:
    return PlainTextResponse("hello")


def test_line_and_metrics_are_written_before_the_last_body_chunk(caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    calls = Calls(Starlette(routes=[Route("/hello", _hello)]), metrics, Tracer(False), None, frozenset({"/hello"}), 0)
    seen_at_last_chunk: list[tuple[int, bool]] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            lines = [r for r in caplog.records if getattr(r, "request_id", "") == "rid-1"]
            counted = b'http_server_requests_total{method="GET",route="/hello",status="200"} 1.0' in generate_latest(
                metrics.registry
            )
            seen_at_last_chunk.append((len(lines), counted))

    scope = {"type": "http", "method": "GET", "path": "/hello", "headers": [(b"x-request-id", b"rid-1")],
             "query_string": b"", "root_path": "", "scheme": "http", "server": ("127.0.0.1", 1), "client": None,
             "http_version": "1.1"}
    with caplog.at_level(logging.INFO, logger="embedroute.access"):
        asyncio.run(calls(scope, receive, send))
    assert seen_at_last_chunk == [(1, True)]
    assert len([r for r in caplog.records if getattr(r, "request_id", "") == "rid-1"]) == 1  # written once
