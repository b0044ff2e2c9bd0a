"""Idle streams that need no key cannot take the slots of probes or of authenticated work.

Another process opens 300 Health/Watch streams and holds them. The server refuses
those beyond `max_open_streams` at once, and meanwhile the kubelet's Health/Check and
an authenticated Embed are still answered (before the fix, ~1,000 watchers took every
`max_concurrent_rpcs` slot and both got "Concurrent RPC limit exceeded").
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from router import ModelPlan
from service.core.config import GrpcTransport
from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc
from tests.rpc.harness import RunningServer, server_settings

REPO = Path(__file__).resolve().parents[2]
WATCHERS, OPEN_STREAMS, WORK_SLOTS = 300, 16, 32
KEY = "k-open-streams"


@pytest.fixture
def server(models_dir: Path, embed_plans_only: list[ModelPlan]) -> Iterator[RunningServer]:
    settings = server_settings(
        models_dir, grpc=GrpcTransport(max_open_streams=OPEN_STREAMS), max_concurrent_rpcs=WORK_SLOTS, api_keys=[KEY]
    )
    running = RunningServer(settings, embed_plans_only).load()
    yield running
    running.stop()


def test_idle_watch_streams_leave_probes_and_work_served(server: RunningServer) -> None:
    watchers = subprocess.Popen(
        [sys.executable, "-m", "tests.hardening.watch_client", server.target, str(WATCHERS), "60"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert watchers.stdout is not None
        outcome = json.loads(watchers.stdout.readline())
        assert outcome == {"open": OPEN_STREAMS, "refused": WATCHERS - OPEN_STREAMS, "other": 0}
        with grpc.insecure_channel(server.target) as channel:
            for _ in range(20):
                began = time.monotonic()
                check = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
                assert check.status == health_pb2.HealthCheckResponse.SERVING
                assert time.monotonic() - began < 1.0
            embed = embed_pb2_grpc.EmbedServiceStub(channel).Embed(
                embed_pb2.EmbedRequest(inputs=["still served"]), timeout=10, metadata=[("authorization", f"Bearer {KEY}")]
            )
            assert len(embed.embeddings) == 1
    finally:
        watchers.kill()
        watchers.wait(10)


def test_open_stream_slots_are_refused_when_full_and_come_back(server: RunningServer) -> None:
    """A Watch beyond the allowance is refused at once; the slots come back when the streams end."""
    admission = server.server.rpc.admission
    assert admission.limit("work") == WORK_SLOTS
    with grpc.insecure_channel(server.target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        watches = [health.Watch(health_pb2.HealthCheckRequest(), timeout=30) for _ in range(OPEN_STREAMS)]
        for w in watches:
            next(iter(w))
        with pytest.raises(grpc.RpcError) as caught:
            next(iter(health.Watch(health_pb2.HealthCheckRequest(), timeout=30)))
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        for w in watches:
            w.cancel()
        deadline = time.monotonic() + 10
        while admission.in_flight["open"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert admission.in_flight["open"] == 0
        assert next(iter(health.Watch(health_pb2.HealthCheckRequest(), timeout=30))).status == 1
