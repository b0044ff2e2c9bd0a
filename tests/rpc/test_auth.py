"""API keys: without a valid bearer token every embedroute RPC is UNAUTHENTICATED; health stays open."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from router import ModelPlan
from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc, model_pb2, model_pb2_grpc
from tests.rpc.harness import RunningServer, details_of, rich_status, server_settings


def test_api_keys(models_dir: Path, embed_plans: list[ModelPlan], tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# team A\nkey-one\n\nkey-two\n")
    server = RunningServer(server_settings(models_dir, api_keys_file=keys), embed_plans)
    try:
        with grpc.insecure_channel(server.target) as ch:
            models = model_pb2_grpc.ModelServiceStub(ch)
            for metadata in [(), (("authorization", "Bearer nope"),), (("authorization", "key-one"),)]:
                with pytest.raises(grpc.RpcError) as caught:
                    models.ListModels(model_pb2.ListModelsRequest(), metadata=metadata)
                code, status = rich_status(caught.value)
                assert code == grpc.StatusCode.UNAUTHENTICATED
                assert details_of(status)["ErrorInfo"].reason == "UNAUTHENTICATED"
            listed = models.ListModels(model_pb2.ListModelsRequest(), metadata=(("authorization", "Bearer key-two"),))
            assert [m.id for m in listed.models] == ["qwen3-embedding-tiny"]
            stream = embed_pb2_grpc.EmbedServiceStub(ch).EmbedStream(iter([embed_pb2.EmbedStreamRequest(input="x")]))
            with pytest.raises(grpc.RpcError) as caught:
                list(stream)
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
            health = health_pb2_grpc.HealthStub(ch).Check(
                health_pb2.HealthCheckRequest(service="embedroute.v1.ModelService")
            )
            assert health.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        server.stop()
