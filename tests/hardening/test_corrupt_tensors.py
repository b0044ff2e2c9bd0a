"""A GGUF whose header is valid and whose tensor data is corrupt never answers NaN with status OK.

The file loads in llama.cpp (nothing checks the data), so the self-check decode at load
fails it: the next file of the model serves, or with none left the model is FAILED and
NOT_SERVING with the reason. Before the fix it was READY and answered NaN vectors,
NaN scores and all-zero int8.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.core.errors import EngineError
from router.gguf_header import read_header
from router.types import EngineSettings
from service.core.values import EmbedOptions
from service.engine import load_model
from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc, model_pb2, model_pb2_grpc
from service.serve import plan
from tests.conftest import SynthModels
from tests.rpc.harness import RunningServer, details_of, rich_status, server_settings

EMBED_MODEL = "qwen3-embedding-tiny"


def with_nan_weights(source: Path, target: Path) -> Path:
    """A copy of an F32 file whose output-norm weights are NaN: the header and every size stay right."""
    shutil.copy(source, target)
    tensor = next(t for t in read_header(target).tensors if t.name == "output_norm.weight")
    with open(target, "r+b") as f:
        f.seek(tensor.offset)
        f.write(np.full(tensor.n_bytes // 4, np.nan, dtype=np.float32).tobytes())
    return target


def test_the_engine_never_returns_non_finite_values(synth_models: SynthModels, tmp_path: Path) -> None:
    broken = with_nan_weights(synth_models.embedding["F32"], tmp_path / "nan.gguf")
    model = load_model(broken, EngineSettings(n_ctx=256, n_threads=1))
    try:
        with pytest.raises(EngineError, match="non-finite"):
            model.embed(["hello"], EmbedOptions())
        with pytest.raises(EngineError, match="non-finite"):
            model.self_check()
    finally:
        model.close()


def test_a_corrupt_file_is_failed_at_load_and_the_next_one_serves(synth_models: SynthModels, tmp_path: Path) -> None:
    with_nan_weights(synth_models.embedding["F32"], tmp_path / synth_models.embedding["F32"].name)
    (tmp_path / "q8.gguf").symlink_to(synth_models.embedding["Q8_0"])
    settings = server_settings(tmp_path, pins={EMBED_MODEL: "F32"})
    only_f32 = plan(settings)
    server = RunningServer(settings, only_f32).load()
    try:
        with grpc.insecure_channel(server.target) as ch:
            status = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service="embedroute.v1.EmbedService"))
            assert status.status == health_pb2.HealthCheckResponse.NOT_SERVING
            model = model_pb2_grpc.ModelServiceStub(ch).GetModel(model_pb2.GetModelRequest(model=EMBED_MODEL)).model
            assert model.state == model_pb2.MODEL_STATE_FAILED
            assert "non-finite values" in model.error
            with pytest.raises(grpc.RpcError) as caught:
                embed_pb2_grpc.EmbedServiceStub(ch).Embed(embed_pb2.EmbedRequest(inputs=["x"]))
            code, status_proto = rich_status(caught.value)
            assert code == grpc.StatusCode.UNAVAILABLE
            assert details_of(status_proto)["ErrorInfo"].reason == "MODEL_FAILED"
    finally:
        server.stop()

    unpinned = server_settings(tmp_path)
    server = RunningServer(unpinned, plan(unpinned)).load()
    try:
        with grpc.insecure_channel(server.target) as ch:
            served = model_pb2_grpc.ModelServiceStub(ch).GetModel(model_pb2.GetModelRequest(model=EMBED_MODEL)).model
            vector = embed_pb2_grpc.EmbedServiceStub(ch).Embed(embed_pb2.EmbedRequest(inputs=["x"])).embeddings[0]
        assert served.state == model_pb2.MODEL_STATE_READY
        assert served.file.quant == "Q8_0"  # the router's first choice, F32, failed its self-check
        assert "non-finite values" in served.error
        assert np.isfinite(np.array(vector.float_values)).all() and len(vector.float_values) == 256
    finally:
        server.stop()
