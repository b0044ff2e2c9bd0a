"""ModelService reports what runs, from which file, where, and why the router chose it."""

from __future__ import annotations

import grpc
import pytest

from service.rpc.generated.embedroute.v1 import model_pb2, model_pb2_grpc
from tests.rpc.conftest import EMBED_MODEL, RERANK_MODEL
from tests.rpc.harness import RunningServer, details_of, rich_status


def test_list_models(channel: grpc.Channel) -> None:
    models = {
        m.id: m for m in model_pb2_grpc.ModelServiceStub(channel).ListModels(model_pb2.ListModelsRequest()).models
    }
    assert set(models) == {EMBED_MODEL, RERANK_MODEL}
    embed, rerank = models[EMBED_MODEL], models[RERANK_MODEL]
    assert embed.kind == model_pb2.MODEL_KIND_EMBEDDING and rerank.kind == model_pb2.MODEL_KIND_RERANKER
    assert embed.state == rerank.state == model_pb2.MODEL_STATE_READY
    assert (embed.dimensions, embed.context_length, embed.pooling, embed.architecture) == (256, 512, "last", "qwen3")
    assert (embed.file.quant, rerank.file.quant) == ("Q8_0", "F16")
    assert embed.file.file_name == "Qwen3-Embedding-Tiny-Q8_0.gguf"
    assert rerank.pooling == "rank"


def test_get_model_explains_the_choice(channel: grpc.Channel, served: RunningServer) -> None:
    model = model_pb2_grpc.ModelServiceStub(channel).GetModel(model_pb2.GetModelRequest(model=EMBED_MODEL)).model
    plan = served.server.registry.get(EMBED_MODEL).plan
    assert model.placement.device == model_pb2.DEVICE_CPU and model.placement.gpu_layers == 0
    assert model.placement.threads == plan.chosen.n_threads
    assert model.placement.total_layers == 2
    assert model.reason == plan.chosen.reason and model.reason
    assert model.hardware == plan.hardware_summary
    assert [c.file.file_name for c in model.candidates] == [c.description.path.name for c in plan.candidates]
    assert [c.chosen for c in model.candidates] == [True] + [False] * (len(plan.candidates) - 1)
    assert model.candidates[0].estimated_bytes == plan.chosen.estimated_bytes > model.file.size_bytes
    assert model.candidates[0].fits


def test_unknown_model_is_not_found(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        model_pb2_grpc.ModelServiceStub(channel).GetModel(model_pb2.GetModelRequest(model="nope"))
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.NOT_FOUND
    info = details_of(status)["ErrorInfo"]
    assert (info.reason, info.domain) == ("MODEL_NOT_FOUND", "embedroute.dev")
    assert EMBED_MODEL in status.message
