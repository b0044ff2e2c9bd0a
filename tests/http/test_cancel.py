"""A client that leaves, and a caller that announces its timeout, free the work they queued.

The worker is held busy (tests/hardening/test_faults.block_worker), so the request waits in
its queue: what reaches the engine afterwards is counted by the worker's stats.
"""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from tests.hardening.test_faults import block_worker, wait_for
from tests.http.conftest import EMBED_MODEL, RERANK_MODEL
from tests.rpc.harness import RunningServer


def raw_post(server: RunningServer, path: str, body: dict[str, object]) -> socket.socket:
    """A request sent on a socket of the test's own, so that the test closes the connection when it chooses."""
    host, port = server.http_url.removeprefix("http://").rsplit(":", 1)
    payload = json.dumps(body).encode()
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(payload)}\r\n\r\n".encode() + payload
    )
    return sock


@pytest.mark.parametrize(
    ("path", "body", "model"),
    [
        ("/v1/embeddings", {"input": ["left behind", "and this"]}, EMBED_MODEL),
        ("/embed", {"inputs": "left behind"}, EMBED_MODEL),
        ("/v2/rerank", {"query": "q", "documents": ["a", "b", "c"]}, RERANK_MODEL),
    ],
)
def test_client_that_leaves_has_its_queued_work_dropped(
    http_served: RunningServer, path: str, body: dict[str, object], model: str
) -> None:
    worker = http_served.worker(model)
    _, release = block_worker(http_served, worker)
    batches, skipped = worker.stats.batches, worker.stats.skipped
    try:
        sock = raw_post(http_served, path, body)
        assert wait_for(lambda: worker.stats.queued >= 2), worker.stats  # the blocker and the request
        queued = worker.stats.queued
        sock.close()  # the client goes away before its answer
        assert wait_for(lambda: worker.stats.queued == 1), worker.stats
    finally:
        release.set()
    assert wait_for(lambda: worker.stats.queued == 0)
    assert worker.stats.skipped - skipped == queued - 1
    assert worker.stats.batches == batches  # none of it reached the engine


def test_leaving_client_is_logged_as_499(http_served: RunningServer, http: httpx.Client) -> None:
    worker = http_served.worker(EMBED_MODEL)
    _, release = block_worker(http_served, worker)
    try:
        sock = raw_post(http_served, "/v1/embeddings", {"input": "gone"})
        assert wait_for(lambda: worker.stats.queued == 2), worker.stats
        sock.close()
        assert wait_for(lambda: worker.stats.queued == 1), worker.stats
    finally:
        release.set()
    metrics = httpx.get(f"http://127.0.0.1:{http_served.settings.metrics_port}/metrics", timeout=10).text
    assert 'http_server_requests_total{method="POST",route="/v1/embeddings",status="499"}' in metrics
    assert http.post("/v1/embeddings", json={"input": "after"}).status_code == 200  # the server is unharmed


@pytest.mark.parametrize(
    ("path", "body", "header", "value", "model"),
    [
        ("/v1/embeddings", {"input": "late"}, "x-stainless-timeout", "0.4", EMBED_MODEL),
        ("/v1/embeddings", {"input": "late"}, "x-envoy-expected-rq-timeout-ms", "400", EMBED_MODEL),
        ("/embed", {"inputs": "late"}, "x-envoy-expected-rq-timeout-ms", "400", EMBED_MODEL),
        ("/v1/rerank", {"query": "q", "documents": ["late"]}, "x-envoy-expected-rq-timeout-ms", "400", RERANK_MODEL),
    ],
)
def test_announced_timeout_is_a_deadline(
    http_served: RunningServer, http: httpx.Client, path: str, body: dict[str, object], header: str, value: str,
    model: str,
) -> None:
    worker = http_served.worker(model)
    _, release = block_worker(http_served, worker)
    batches = worker.stats.batches
    started = time.monotonic()
    try:
        answer = http.post(path, json=body, headers={header: value})
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert answer.status_code == 504, answer.text
    assert "deadline" in answer.text
    assert 0.35 < elapsed < 5.0
    assert wait_for(lambda: worker.stats.queued == 0)
    assert worker.stats.batches == batches  # dropped before the engine


def test_tighter_announced_timeout_wins(http_served: RunningServer, http: httpx.Client) -> None:
    worker = http_served.worker(EMBED_MODEL)
    _, release = block_worker(http_served, worker)
    started = time.monotonic()
    try:
        answer = http.post("/v1/embeddings", json={"input": "late"},
                           headers={"x-stainless-timeout": "600", "x-envoy-expected-rq-timeout-ms": "300"})
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert answer.status_code == 504
    assert elapsed < 5.0


@pytest.mark.parametrize("value", ["soon", "0", "-5", "nan", "inf"])
def test_unreadable_timeout_is_refused(http: httpx.Client, value: str) -> None:
    answer = http.post("/v1/embeddings", json={"input": "x"}, headers={"x-envoy-expected-rq-timeout-ms": value})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["param"] == "x-envoy-expected-rq-timeout-ms"
    assert "must be a positive number" in error["message"]


def test_generous_timeout_answers_normally(http: httpx.Client) -> None:
    answer = http.post("/v1/embeddings", json={"input": "in time"}, headers={"x-stainless-timeout": "60"})
    assert answer.status_code == 200
    assert len(answer.json()["data"][0]["embedding"]) > 0
