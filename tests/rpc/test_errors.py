"""Error model: canonical codes with google.rpc.Status details (AIP-193), from a real server."""

from __future__ import annotations

import threading
from pathlib import Path

import grpc
import pytest

from router import ModelPlan
from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc
from tests.rpc.harness import RunningServer, details_of, rich_status, server_settings


def test_invalid_argument_lists_every_violation(channel: grpc.Channel) -> None:
    request = embed_pb2.EmbedRequest(inputs=["ok", "", "  "], options=embed_pb2.EmbedOptions(dimensions=4096))
    with pytest.raises(grpc.RpcError) as caught:
        embed_pb2_grpc.EmbedServiceStub(channel).Embed(request)
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    details = details_of(status)
    assert set(details) == {"ErrorInfo", "BadRequest"}
    assert (details["ErrorInfo"].reason, details["ErrorInfo"].domain) == ("INVALID_ARGUMENT", "embedroute.dev")
    fields = [v.field for v in details["BadRequest"].field_violations]
    assert fields == ["inputs[1]", "inputs[2]", "options.dimensions"]


def test_empty_request(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        embed_pb2_grpc.EmbedServiceStub(channel).Embed(embed_pb2.EmbedRequest())
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in details_of(status)["BadRequest"].field_violations] == ["inputs"]


def test_unavailable_while_loading_with_retry_info(models_dir: Path, embed_plans: list[ModelPlan]) -> None:
    server = RunningServer(server_settings(models_dir), embed_plans)  # started, never loaded
    try:
        with grpc.insecure_channel(server.target) as ch, pytest.raises(grpc.RpcError) as caught:
            embed_pb2_grpc.EmbedServiceStub(ch).Embed(embed_pb2.EmbedRequest(inputs=["x"]))
    finally:
        server.stop()
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.UNAVAILABLE
    details = details_of(status)
    assert details["ErrorInfo"].reason == "MODEL_LOADING"
    assert details["RetryInfo"].retry_delay.ToNanoseconds() == 1_000_000_000


def test_full_queue_is_resource_exhausted(models_dir: Path, embed_plans: list[ModelPlan]) -> None:
    # the same request six times: with the cache, five would wait on the first instead of queueing
    settings = server_settings(models_dir, max_queued_requests=1, retry_after_seconds=0.25, cache="off")
    server = RunningServer(settings, embed_plans).load()
    long_text = " ".join(["hello"] * 400)  # about 400 tokens: fits the 512 context, takes a while
    errors: list[grpc.RpcError] = []
    done: list[int] = []

    def call(stub: embed_pb2_grpc.EmbedServiceStub) -> None:
        try:
            stub.Embed(embed_pb2.EmbedRequest(inputs=[long_text] * 4), timeout=120)
            done.append(1)
        except grpc.RpcError as exc:
            errors.append(exc)

    try:
        with grpc.insecure_channel(server.target) as ch:
            stub = embed_pb2_grpc.EmbedServiceStub(ch)
            threads = [threading.Thread(target=call, args=(stub,)) for _ in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        server.stop()
    assert done and errors and len(done) + len(errors) == 6, [e.details() for e in errors]
    for error in errors:
        code, status = rich_status(error)
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
        details = details_of(status)
        assert details["ErrorInfo"].reason == "OVERLOADED"
        assert details["RetryInfo"].retry_delay.ToMilliseconds() == 250
