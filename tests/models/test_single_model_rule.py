"""One rule for which model a call that names none means (issue 33, item 13): with two embedding
models, TEI's /embed was refused while /info and /tokenize quietly picked one. Now every API follows
`default_model`, else the only model of the call's kind, else MODEL_REQUIRED naming the setting."""

from __future__ import annotations

from pathlib import Path

import grpc
import httpx
import pytest

from router.errors import ConfigError
from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc
from service.serve import plan
from tests.conftest import SynthModels
from tests.hardening.conftest import free_port
from tests.rpc.harness import RunningServer, server_settings

MINILM = "all-minilm-l6-v2"


@pytest.fixture(scope="module")
def two_embedders(synth_models: SynthModels, minilm: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("two-embedders")
    (folder / "qwen.gguf").symlink_to(synth_models.embedding["Q8_0"])
    (folder / "minilm.gguf").symlink_to(minilm["Q8_0"])
    return folder


def test_no_default_refuses_every_unnamed_call_alike(two_embedders: Path) -> None:
    settings = server_settings(two_embedders, http_port=free_port())
    server = RunningServer(settings, plan(settings)).load()
    try:
        url = server.http_url
        for answer in (httpx.post(f"{url}/embed", json={"inputs": "x"}), httpx.get(f"{url}/info"),
                       httpx.post(f"{url}/tokenize", json={"inputs": "x"})):
            assert answer.status_code == 422, answer.text
            assert "set default_model" in answer.json()["error"]
        with grpc.insecure_channel(server.target) as channel, pytest.raises(grpc.RpcError) as refused:
            embed_pb2_grpc.EmbedServiceStub(channel).Embed(embed_pb2.EmbedRequest(inputs=["x"]), timeout=30)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        server.stop()


def test_default_model_is_what_every_unnamed_call_means(two_embedders: Path) -> None:
    settings = server_settings(two_embedders, http_port=free_port(), default_model=MINILM)
    server = RunningServer(settings, plan(settings)).load()
    try:
        url = server.http_url
        assert httpx.get(f"{url}/info").json()["model_id"] == MINILM
        (vector,) = httpx.post(f"{url}/embed", json={"inputs": "x"}).json()
        assert len(vector) == 384
        with grpc.insecure_channel(server.target) as channel:
            reply = embed_pb2_grpc.EmbedServiceStub(channel).Embed(embed_pb2.EmbedRequest(inputs=["x"]), timeout=30)
        assert reply.model == MINILM and len(reply.embeddings[0].float_values) == 384
    finally:
        server.stop()


def test_an_unknown_default_model_is_a_configuration_error(two_embedders: Path) -> None:
    settings = server_settings(two_embedders, default_model="nonexistent")
    with pytest.raises(ConfigError, match="'nonexistent' is not among the models found"):
        RunningServer(settings, plan(settings))
