"""A 10,000-input stream completes without the server reading ahead of its window.

The client pushes as fast as gRPC lets it; if the servicer read the stream without
bound, the model's queue would fill far past the window (and then overflow into
RESOURCE_EXHAUSTED). The worker's high-water mark of admitted work proves it did not.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import grpc
import psutil

from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc
from tests.rpc.conftest import EMBED_MODEL
from tests.rpc.harness import RunningServer

N = 10_000


def test_ten_thousand_inputs_bounded(served: RunningServer, channel: grpc.Channel) -> None:
    worker = served.worker(EMBED_MODEL)
    worker.stats.high_water = worker.stats.queued
    window = served.settings.stream_window
    assert window < served.settings.max_queued_requests  # else the bound would prove nothing
    rss_before = psutil.Process(os.getpid()).memory_info().rss

    def requests() -> Iterator[embed_pb2.EmbedStreamRequest]:
        for i in range(N):
            yield embed_pb2.EmbedStreamRequest(id=str(i), input=f"item {i}")

    seen = set()
    for response in embed_pb2_grpc.EmbedServiceStub(channel).EmbedStream(requests(), timeout=600):
        seen.add(response.id)
        assert response.embedding.dimensions == 256
    assert seen == {str(i) for i in range(N)}
    assert 1 <= worker.stats.high_water <= window
    growth = psutil.Process(os.getpid()).memory_info().rss - rss_before
    assert growth < 200 * 1024 * 1024, f"server process grew by {growth / 2**20:.0f} MiB"
