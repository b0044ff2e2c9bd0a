"""Connections are not calls: idle sockets and half headers time out and never take a call's slot,
headers are bounded, and overload is 429 with Retry-After in the API's error body while the health
routes keep answering (issue 33, item 1: 16 idle sockets with `--max-concurrent-rpcs 16` answered
every request, health included, with a plain-text 503)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from router import ModelPlan
from tests.hardening.conftest import free_port
from tests.rpc.harness import RunningServer, server_settings

SLOTS = 4
HEADER_TIMEOUT_S = 1.0
MAX_HEADER_BYTES = 8192


@pytest.fixture(scope="module")
def bounded(models_dir: Path, http_embed_plans: list[ModelPlan]) -> Iterator[RunningServer]:
    settings = server_settings(
        models_dir, http_port=free_port(), max_concurrent_rpcs=SLOTS,
        http_header_timeout_seconds=HEADER_TIMEOUT_S, http_max_header_bytes=MAX_HEADER_BYTES,
    )
    server = RunningServer(settings, http_embed_plans).load()
    yield server
    server.stop()


def _connect(server: RunningServer, first: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.server.http_port), timeout=10)
    if first:
        sock.sendall(first)
    return sock


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """True when the server closes the socket (reads end) within `seconds`."""
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
        return True
    except TimeoutError:
        return False


def test_idle_and_half_header_sockets_neither_block_calls_nor_stay_open(bounded: RunningServer) -> None:
    idle = [_connect(bounded) for _ in range(SLOTS * 8)]
    half = [_connect(bounded, b"POST /v1/embeddings HTTP/1.1\r\nhost: x\r\nx-slow: ") for _ in range(SLOTS * 8)]
    try:
        url = bounded.http_url
        for path in ("/livez", "/readyz", "/health"):
            assert httpx.get(f"{url}{path}", timeout=5).status_code == 200, path
        answer = httpx.post(f"{url}/v1/embeddings", json={"input": "x"}, timeout=30)
        assert answer.status_code == 200, answer.text
        started = time.monotonic()
        assert all(_closed_within(s, HEADER_TIMEOUT_S + 5) for s in idle + half)
        assert time.monotonic() - started < HEADER_TIMEOUT_S + 5
    finally:
        for s in idle + half:
            s.close()


def test_keep_alive_connection_closes_when_no_next_header_comes(bounded: RunningServer) -> None:
    sock = _connect(bounded, b"GET /livez HTTP/1.1\r\nhost: x\r\n\r\n")
    sock.settimeout(5)
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    sock.sendall(b"GET /livez HTTP/1.1\r\nhost: ")  # a second request that never finishes its header
    assert _closed_within(sock, HEADER_TIMEOUT_S + 5)
    sock.close()


def test_oversized_header_is_431_and_closed(bounded: RunningServer) -> None:
    sock = _connect(bounded)
    sock.sendall(b"POST /v1/embeddings HTTP/1.1\r\nhost: x\r\nx-stainless-timeout: " + b"9" * (MAX_HEADER_BYTES * 4))
    sock.settimeout(5)
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    sock.close()
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:80]
    assert len(answer) < 1024


def test_calls_over_the_bound_are_429_and_health_still_answers(bounded: RunningServer) -> None:
    """Requests whose bodies have not arrived hold their slots: a call over SLOTS is refused at once."""
    head = b"POST /v1/embeddings HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"
    holding = [_connect(bounded, head) for _ in range(SLOTS)]
    try:
        url = bounded.http_url
        assert bounded.server.http is not None
        calls = bounded.server.http.calls
        waited = time.monotonic()
        while calls.in_flight < SLOTS:
            assert time.monotonic() - waited < 10, calls.in_flight
            time.sleep(0.01)
        refused = httpx.post(f"{url}/v1/embeddings", json={"input": "x"}, timeout=5)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["type"] == "rate_limit_error"
        cohere = httpx.post(f"{url}/v2/rerank", json={"query": "q", "documents": ["d"]}, timeout=5)
        assert cohere.status_code == 429 and cohere.json()["code"] == "OVERLOADED"
        for path in ("/livez", "/readyz", "/health"):
            assert httpx.get(f"{url}{path}", timeout=5).status_code == 200, path
    finally:
        for s in holding:
            s.close()
    waited = time.monotonic()
    while calls.in_flight:
        assert time.monotonic() - waited < 10
        time.sleep(0.01)
    assert httpx.post(f"{url}/v1/embeddings", json={"input": "x"}, timeout=30).status_code == 200
