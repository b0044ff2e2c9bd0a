"""When the router's first choice fails to load, the server loads the next candidate and says so."""

from __future__ import annotations

import shutil
from pathlib import Path

import grpc

from service.rpc.generated.embedroute.v1 import model_pb2, model_pb2_grpc
from service.serve import plan
from tests.conftest import SynthModels
from tests.rpc.conftest import EMBED_MODEL
from tests.rpc.harness import RunningServer, server_settings


def test_corrupt_first_choice_falls_back(synth_models: SynthModels, tmp_path: Path) -> None:
    for quant in ("Q8_0", "Q4_K_M"):
        shutil.copy(synth_models.embedding[quant], tmp_path / synth_models.embedding[quant].name)
    settings = server_settings(tmp_path)
    (embed_plan,) = plan(settings)
    first, second = embed_plan.load_order[:2]
    with open(first.description.path, "r+b") as broken:  # the file went bad after the router read it
        broken.truncate(first.description.file_size // 2)

    server = RunningServer(settings, [embed_plan]).load()
    try:
        with grpc.insecure_channel(server.target) as ch:
            model = model_pb2_grpc.ModelServiceStub(ch).GetModel(model_pb2.GetModelRequest(model=EMBED_MODEL)).model
    finally:
        server.stop()
    assert model.state == model_pb2.MODEL_STATE_READY
    assert model.file.file_name == second.description.path.name
    assert model.file.quant == second.description.quant
    chosen = [c.file.file_name for c in model.candidates if c.chosen]
    assert chosen == [second.description.path.name]
    assert model.error.startswith(f"{first.description.path.name}: ")
