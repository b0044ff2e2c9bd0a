"""Retries against a small in-test server that is overloaded for its first N calls: the
real server's queue cannot be filled on cue, this one answers exactly as status.py would."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from embedroute_client import Client, ResourceExhaustedError, RetryPolicy
from embedroute_client._proto.embedroute.v1 import embed_pb2, embed_pb2_grpc

RETRY_DELAY_S = 0.3


class OverloadedFirst(embed_pb2_grpc.EmbedServiceServicer):
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[float] = []

    def Embed(self, request: embed_pb2.EmbedRequest, context: grpc.ServicerContext) -> embed_pb2.EmbedResponse:
        self.calls.append(time.monotonic())
        if len(self.calls) <= self.failures:
            delay = duration_pb2.Duration()
            delay.FromNanoseconds(int(RETRY_DELAY_S * 1e9))
            details = [any_pb2.Any(), any_pb2.Any()]
            details[0].Pack(error_details_pb2.ErrorInfo(reason="OVERLOADED", domain="embedroute.dev"))
            details[1].Pack(error_details_pb2.RetryInfo(retry_delay=delay))
            status = status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message="queue full", details=details)
            context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "queue full")
        return embed_pb2.EmbedResponse(
            model="fake", embeddings=[embed_pb2.Embedding(index=0, dimensions=2, float_values=[0.6, 0.8])]
        )


def _serve(servicer: OverloadedFirst) -> Iterator[str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    embed_pb2_grpc.add_EmbedServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(None)


@pytest.fixture
def overloaded_once() -> Iterator[tuple[OverloadedFirst, str]]:
    servicer = OverloadedFirst(failures=1)
    for target in _serve(servicer):
        yield servicer, target


def test_resource_exhausted_is_retried_after_the_retry_info_delay(overloaded_once: tuple[OverloadedFirst, str]) -> None:
    servicer, target = overloaded_once
    with Client(target) as client:
        vector = client.embed("text")
    assert vector.tolist() == pytest.approx([0.6, 0.8])
    assert len(servicer.calls) == 2
    assert servicer.calls[1] - servicer.calls[0] >= RETRY_DELAY_S


def test_without_retries_the_error_carries_the_delay(overloaded_once: tuple[OverloadedFirst, str]) -> None:
    servicer, target = overloaded_once
    with Client(target, retry=RetryPolicy(max_attempts=1)) as client, pytest.raises(ResourceExhaustedError) as caught:
        client.embed("text")
    assert caught.value.retry_delay == pytest.approx(RETRY_DELAY_S)
    assert caught.value.reason == "OVERLOADED"
    assert len(servicer.calls) == 1


def test_no_retry_that_would_outlast_the_deadline(overloaded_once: tuple[OverloadedFirst, str]) -> None:
    servicer, target = overloaded_once
    with Client(target, timeout=RETRY_DELAY_S / 2) as client, pytest.raises(ResourceExhaustedError):
        client.embed("text")
    assert len(servicer.calls) == 1


def test_attempts_are_bounded() -> None:
    servicer = OverloadedFirst(failures=10)
    for target in _serve(servicer):
        with Client(target, retry=RetryPolicy(max_attempts=2)) as client, pytest.raises(ResourceExhaustedError):
            client.embed("text")
    assert len(servicer.calls) == 2
