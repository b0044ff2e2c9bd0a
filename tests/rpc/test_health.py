"""grpc.health.v1: each service NOT_SERVING until its model loads, all NOT_SERVING on shutdown."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from router import ModelPlan
from tests.rpc.harness import RunningServer, server_settings

NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVING = health_pb2.HealthCheckResponse.SERVING
EMBED = "embedroute.v1.EmbedService"


def test_transitions(models_dir: Path, embed_plans: list[ModelPlan]) -> None:
    server = RunningServer(server_settings(models_dir), embed_plans)
    seen: list[int] = []
    with grpc.insecure_channel(server.target) as ch:
        health = health_pb2_grpc.HealthStub(ch)

        def check(service: str) -> int:
            return int(health.Check(health_pb2.HealthCheckRequest(service=service)).status)

        before = {s: check(s) for s in ("", EMBED, "embedroute.v1.RerankService", "embedroute.v1.ModelService")}
        assert before == {
            "": NOT_SERVING,
            EMBED: NOT_SERVING,
            "embedroute.v1.RerankService": NOT_SERVING,
            "embedroute.v1.ModelService": SERVING,
        }

        def watch() -> None:
            try:
                for response in health.Watch(health_pb2.HealthCheckRequest(service=EMBED)):
                    seen.append(int(response.status))
            except grpc.RpcError:
                pass  # the stream ends when the server stops

        watcher = threading.Thread(target=watch)
        watcher.start()
        server.load()
        after = {s: check(s) for s in ("", EMBED, "embedroute.v1.RerankService", "embedroute.v1.TokenizeService")}
        # no reranker in this server's plans: RerankService answers by cosine over the embedding model
        assert after == {
            "": SERVING,
            EMBED: SERVING,
            "embedroute.v1.RerankService": SERVING,
            "embedroute.v1.TokenizeService": SERVING,
        }
        deadline = time.monotonic() + 10
        while seen[-1:] != [SERVING] and time.monotonic() < deadline:
            time.sleep(0.05)
        server.stop(grace_s=2.0)
        watcher.join(10)
    assert seen == [NOT_SERVING, SERVING, NOT_SERVING]


def test_unknown_service_is_not_found(channel: grpc.Channel) -> None:
    try:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="nope.v1.Nope"))
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.NOT_FOUND
    else:
        raise AssertionError("expected NOT_FOUND")
