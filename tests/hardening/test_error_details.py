"""An error's trailers stay small whatever the request: the client sees the real code, never a
RESOURCE_EXHAUSTED of its own metadata limit (which it would retry)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from router import ModelPlan
from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc
from tests.rpc.harness import RunningServer, details_of, rich_status, server_settings


@pytest.fixture(scope="module")
def channel(models_dir: Path, embed_plans_only: list[ModelPlan]) -> Iterator[grpc.Channel]:
    server = RunningServer(server_settings(models_dir), embed_plans_only).load()
    with grpc.insecure_channel(server.target) as ch:
        yield ch
    server.stop()


def test_a_ten_kilobyte_model_name_is_not_found(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        embed_pb2_grpc.EmbedServiceStub(channel).Embed(embed_pb2.EmbedRequest(model="m" * 10_000, inputs=["x"]))
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.NOT_FOUND
    assert len(status.message) == 256 and status.message.endswith("…")
    assert status.message.startswith("model 'mmmm")
    assert details_of(status)["ErrorInfo"].reason == "MODEL_NOT_FOUND"


def test_a_thousand_violations_report_ten_and_count_all(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        embed_pb2_grpc.EmbedServiceStub(channel).Embed(embed_pb2.EmbedRequest(inputs=[""] * 1000))
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert status.message == "1000 invalid fields"
    assert [v.field for v in details_of(status)["BadRequest"].field_violations] == [f"inputs[{i}]" for i in range(10)]
    assert status.ByteSize() < 2048
