"""One vector space across a fleet: a consistency pin is served exactly, or not at all.

The node here (an 8 GB laptop profile in a 700 MiB container) has room for the F16 file
but not for the F32 one the fleet is pinned to; the router would otherwise pick F16.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import router
from router.hardware import load_profile
from service.rpc.generated.embedroute.v1 import model_pb2, model_pb2_grpc
from service.serve import plan
from tests.conftest import SynthModels
from tests.router.test_policy_profiles import PROFILES
from tests.rpc.conftest import EMBED_MODEL
from tests.rpc.harness import RunningServer, server_settings

MIB = 1024**2
SMALL_NODE = replace(
    load_profile(PROFILES / "laptop-avx2-8gb.yaml"), cgroup_memory_limit_bytes=700 * MIB, cgroup_memory_used_bytes=0
)


def _folder(synth_models: SynthModels, tmp_path: Path) -> Path:
    for quant in ("F32", "F16"):
        (tmp_path / synth_models.embedding[quant].name).symlink_to(synth_models.embedding[quant])
    return tmp_path


def test_a_consistency_pin_that_does_not_fit_stays_not_serving(synth_models: SynthModels, tmp_path: Path) -> None:
    settings = server_settings(_folder(synth_models, tmp_path), consistent={EMBED_MODEL: "F32"})
    prefs = router.RouterPrefs(n_ctx=settings.ctx, pins=router.merge_consistent({}, settings.consistent))
    plans = router.plan_models(settings.models, prefs, hardware=SMALL_NODE)
    unpinned = router.plan_models(settings.models, router.RouterPrefs(n_ctx=settings.ctx), hardware=SMALL_NODE)
    assert unpinned[0].chosen.description.quant == "F16"
    server = RunningServer(settings, plans).load()
    try:
        with grpc.insecure_channel(server.target) as ch:
            health = health_pb2_grpc.HealthStub(ch)
            statuses = [
                health.Check(health_pb2.HealthCheckRequest(service=name), timeout=10).status
                for name in ("", "embedroute.v1.EmbedService")
            ]
            model = model_pb2_grpc.ModelServiceStub(ch).GetModel(model_pb2.GetModelRequest(model=EMBED_MODEL)).model
    finally:
        server.stop()
    assert statuses == [health_pb2.HealthCheckResponse.NOT_SERVING] * 2
    assert model.state == model_pb2.MODEL_STATE_FAILED
    assert model.error == (
        f"consistent: {EMBED_MODEL} must be F32 on every replica (one vector space), and F32 "
        f"({synth_models.embedding['F32'].name}) on cpu does not fit here (needs 217 MiB RAM of 188 MiB); "
        "no other file is loaded"
    )
    assert server.worker(EMBED_MODEL) is None and model.vector_space_id == ""


def test_a_consistency_pin_that_fits_is_served(synth_models: SynthModels, tmp_path: Path) -> None:
    settings = server_settings(_folder(synth_models, tmp_path), consistent={EMBED_MODEL: "F16"})
    server = RunningServer(settings, plan(settings)).load()
    try:
        with grpc.insecure_channel(server.target) as ch:
            model = model_pb2_grpc.ModelServiceStub(ch).GetModel(model_pb2.GetModelRequest(model=EMBED_MODEL)).model
    finally:
        server.stop()
    assert (model.state, model.file.quant, model.error) == (model_pb2.MODEL_STATE_READY, "F16", "")


def test_pin_and_consistency_on_one_model_is_a_config_error(synth_models: SynthModels, tmp_path: Path) -> None:
    settings = server_settings(_folder(synth_models, tmp_path), consistent={EMBED_MODEL: "F16"}, pins={EMBED_MODEL: "F32"})
    with pytest.raises(router.RouterConfigError) as caught:
        plan(settings)
    assert str(caught.value) == f"consistent: {EMBED_MODEL}: both pinned and consistent; use one of the two"
