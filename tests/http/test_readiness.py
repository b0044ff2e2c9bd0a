"""Readiness tells the truth (issue 33, item 8): with a good embedder and a reranker that failed its
load (NaN tensors), gRPC health "" was SERVING and /readyz 200 while every rerank was refused. Ready
now means every planned model serves, but those the operator declared optional; /readyz/MODEL tells
one model's state; a failure for good never says "yet"."""

from __future__ import annotations

from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.serve import plan
from tests.conftest import SynthModels
from tests.hardening.conftest import free_port
from tests.hardening.test_corrupt_tensors import with_nan_weights
from tests.rpc.harness import RunningServer, server_settings

EMBED_MODEL = "qwen3-embedding-tiny"
RERANK_MODEL = "qwen3-reranker-tiny"


def _overall(server: RunningServer) -> int:
    with grpc.insecure_channel(server.target) as channel:
        status: int = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status
        return status


def test_a_failed_reranker_makes_the_server_unready_unless_optional(synth_models: SynthModels, tmp_path: Path) -> None:
    (tmp_path / "embed.gguf").symlink_to(synth_models.embedding["Q8_0"])
    with_nan_weights(synth_models.reranker_cls["F32"], tmp_path / "reranker.gguf")
    for optional in ([], [RERANK_MODEL]):
        settings = server_settings(tmp_path, http_port=free_port(), optional_models=optional)
        server = RunningServer(settings, plan(settings))
        try:
            url = server.http_url
            loading = httpx.get(f"{url}/readyz/{EMBED_MODEL}")
            assert loading.status_code == 503 and "still loading" in loading.json()["error"]
            server.load()
            assert httpx.get(f"{url}/readyz/{EMBED_MODEL}").json() == {"status": "ok", "model": EMBED_MODEL}
            failed = httpx.get(f"{url}/readyz/{RERANK_MODEL}")
            assert failed.status_code == 503 and failed.headers["retry-after"] == "60"
            assert "failed to load and will not serve" in failed.json()["error"]
            assert httpx.get(f"{url}/readyz/nonexistent").status_code == 404
            ready = httpx.get(f"{url}/readyz")
            health = httpx.get(f"{url}/health")
            if optional:
                assert ready.status_code == health.status_code == 200
                assert _overall(server) == health_pb2.HealthCheckResponse.SERVING
            else:
                assert ready.status_code == health.status_code == 503
                assert "failed to load" in ready.json()["error"] and "yet" not in ready.json()["error"]
                assert _overall(server) == health_pb2.HealthCheckResponse.NOT_SERVING
        finally:
            server.stop()
