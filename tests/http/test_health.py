"""HTTP health for what cannot speak gRPC: /health and /readyz turn 200 once a model is ready and 503 when
draining; /livez answers while the process serves. SIGTERM's drain lets a request in flight finish."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import httpx
import pytest

from router import ModelPlan
from tests.hardening.conftest import free_port
from tests.rpc.harness import RunningServer, server_settings


def test_ready_after_models_load_and_not_while_draining(models_dir: Path, http_embed_plans: list[ModelPlan]) -> None:
    server = RunningServer(server_settings(models_dir, http_port=free_port()), http_embed_plans)
    try:
        url = server.http_url
        assert httpx.get(f"{url}/livez").status_code == 200
        loading = httpx.get(f"{url}/health")
        assert loading.status_code == 503
        assert loading.json()["error"] == "model 'qwen3-embedding-tiny' is still loading" and loading.json()["error_type"] == "Unhealthy"
        assert loading.headers["retry-after"] == "1"
        server.load()
        assert httpx.get(f"{url}/health").status_code == 200
        assert httpx.get(f"{url}/readyz").json() == {"status": "ok"}
        server.server.app.draining = True  # what shutdown does first
        assert httpx.get(f"{url}/readyz").status_code == 503
        refused = httpx.post(f"{url}/v1/embeddings", json={"input": "x"})
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "draining"
    finally:
        server.stop()


def _queued_request(server: RunningServer, n_inputs: int) -> tuple[threading.Thread, list[httpx.Response]]:
    """A request of `n_inputs` long texts, returned once it has reached the model's queue. The texts
    differ: the vector cache computes identical inputs of a request once."""
    texts = [f"{i} " + " ".join(["hello"] * 400) for i in range(n_inputs)]
    answers: list[httpx.Response] = []
    request = threading.Thread(
        target=lambda: answers.append(
            httpx.post(f"{server.http_url}/v1/embeddings", json={"input": texts}, timeout=120)
        )
    )
    request.start()
    worker = server.worker("qwen3-embedding-tiny")
    waited = time.monotonic()
    while worker.stats.queued == 0:
        assert time.monotonic() - waited < 60
        time.sleep(0.01)
    return request, answers


def test_drain_lets_a_request_in_flight_finish(models_dir: Path, http_embed_plans: list[ModelPlan]) -> None:
    server = RunningServer(server_settings(models_dir, http_port=free_port()), http_embed_plans).load()
    request, answers = _queued_request(server, 8)
    server.stop(grace_s=60)
    request.join()
    assert answers[0].status_code == 200 and len(answers[0].json()["data"]) == 8
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.http_url}/livez")


def test_request_id_access_log_and_metrics(
    http: httpx.Client, http_served: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="embedroute.access"):
        answer = http.post("/v1/embeddings", json={"input": "x"}, headers={"x-request-id": "trace-42"})
    assert answer.headers["x-request-id"] == "trace-42"
    made_up = http.post("/v1/embeddings", json={"input": "x"}, headers={"x-request-id": "bad id {\"forged\": 1}"})
    assert len(made_up.headers["x-request-id"]) == 32  # a made-up id, not the unsafe one
    (line,) = [r for r in caplog.records if getattr(r, "request_id", "") == "trace-42"]
    assert line.getMessage().startswith("POST /v1/embeddings 200 ")
    assert (line.http_route, line.http_status) == ("/v1/embeddings", 200)  # type: ignore[attr-defined]
    http.get("/no/such/route")
    metrics = httpx.get(f"http://127.0.0.1:{http_served.server.metrics_port}/metrics").text
    assert 'http_server_requests_total{method="POST",route="/v1/embeddings",status="200"}' in metrics
    assert 'http_server_requests_total{method="GET",route="other",status="404"}' in metrics
    assert "http_server_request_duration_seconds_bucket" in metrics


def test_request_still_running_when_the_grace_ends_gets_503(
    models_dir: Path, http_embed_plans: list[ModelPlan], caplog: pytest.LogCaptureFixture
) -> None:
    server = RunningServer(server_settings(models_dir, http_port=free_port()), http_embed_plans).load()
    request, answers = _queued_request(server, 512)
    with caplog.at_level(logging.ERROR):
        server.stop(grace_s=0.2)
    request.join(30)
    (answer,) = answers
    assert answer.status_code == 503, answer.text[:300]
    assert answer.headers["retry-after"] == "1"
    assert answer.json()["error"]["code"] == "draining"
    assert not [r for r in caplog.records if "Exception in ASGI application" in r.getMessage()]
