"""The vector-space id: equal for interchangeable vectors, different whenever they differ.

Real servers on loopback, each serving one file; the id is read where a client sees it
(EmbedResponse, EmbedStream, ModelService) and where an operator does (the metrics' info).
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest

from service.core.space import file_sha256, recorded_sha256, sidecar_path
from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc, model_pb2, model_pb2_grpc
from tests.conftest import SynthModels
from tests.rpc.conftest import EMBED_MODEL
from tests.rpc.harness import RunningServer, server_settings

ID = re.compile(r"^vs1-[0-9a-f]{16}$")


def folder_of(tmp_path: Path, source: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / source.name).symlink_to(source)
    return folder


@contextmanager
def serving(folder: Path, **overrides: object) -> Iterator[RunningServer]:
    server = RunningServer(server_settings(folder, **overrides)).load()
    try:
        yield server
    finally:
        server.stop()


def embed(server: RunningServer, normalize: bool = True, dimensions: int = 0) -> embed_pb2.EmbedResponse:
    with grpc.insecure_channel(server.target) as ch:
        options = embed_pb2.EmbedOptions(normalize=normalize, dimensions=dimensions)
        return embed_pb2_grpc.EmbedServiceStub(ch).Embed(
            embed_pb2.EmbedRequest(inputs=["a vector space"], options=options), timeout=60
        )


def model_info(server: RunningServer) -> model_pb2.Model:
    with grpc.insecure_channel(server.target) as ch:
        return model_pb2_grpc.ModelServiceStub(ch).GetModel(model_pb2.GetModelRequest(model=EMBED_MODEL)).model


def test_one_file_on_two_servers_has_one_id(synth_models: SynthModels, tmp_path: Path) -> None:
    source = synth_models.embedding["Q8_0"]
    with serving(folder_of(tmp_path, source, "a")) as a, serving(folder_of(tmp_path, source, "b")) as b:
        first, second = embed(a), embed(b)
        assert ID.match(first.vector_space_id), first.vector_space_id
        assert first.vector_space_id == second.vector_space_id
        assert (first.dimensions, first.embeddings[0].dimensions) == (256, 256)
        assert model_info(a).vector_space_id == first.vector_space_id
        assert list(first.embeddings[0].float_values) == list(second.embeddings[0].float_values)


def test_normalisation_changes_the_id_and_a_cut_does_not(synth_models: SynthModels, tmp_path: Path) -> None:
    with serving(folder_of(tmp_path, synth_models.embedding["Q8_0"], "m")) as server:
        normalised, raw, cut = embed(server), embed(server, normalize=False), embed(server, dimensions=64)
        with grpc.insecure_channel(server.target) as ch:
            stream = list(
                embed_pb2_grpc.EmbedServiceStub(ch).EmbedStream(
                    iter([embed_pb2.EmbedStreamRequest(id="s", input="x", options=embed_pb2.EmbedOptions(normalize=False))]),
                    timeout=60,
                )
            )
    assert normalised.vector_space_id != raw.vector_space_id
    assert ID.match(raw.vector_space_id)
    assert (cut.vector_space_id, cut.dimensions) == (normalised.vector_space_id, 64)
    assert (stream[0].vector_space_id, stream[0].dimensions) == (raw.vector_space_id, 256)


def test_another_quant_or_pooling_is_another_space(synth_models: SynthModels, tmp_path: Path) -> None:
    ids = {}
    for quant in ("F16", "Q8_0"):
        with serving(folder_of(tmp_path, synth_models.embedding[quant], quant)) as server:
            ids[quant] = embed(server).vector_space_id
    with serving(folder_of(tmp_path, synth_models.embedding["Q8_0"], "mean"), pooling={EMBED_MODEL: "mean"}) as server:
        ids["Q8_0 mean"] = embed(server).vector_space_id
        info = model_info(server)
        assert (info.pooling, info.pooling_source) == ("mean", "override")
    assert len(set(ids.values())) == 3, ids


def test_the_id_survives_a_restart_and_is_recorded_beside_the_file(synth_models: SynthModels, tmp_path: Path) -> None:
    folder = folder_of(tmp_path, synth_models.embedding["F16"], "restart")
    path = folder / synth_models.embedding["F16"].name
    with serving(folder) as server:
        first = embed(server).vector_space_id
    assert recorded_sha256(path) == file_sha256(path)
    with serving(folder) as server:
        assert embed(server).vector_space_id == first
    sidecar_path(path).unlink()
    with serving(folder) as server:
        assert embed(server).vector_space_id == first


def test_ids_off_reports_none(synth_models: SynthModels, tmp_path: Path) -> None:
    with serving(folder_of(tmp_path, synth_models.embedding["Q8_0"], "off"), vector_space_ids=False) as server:
        assert (embed(server).vector_space_id, model_info(server).vector_space_id) == ("", "")


def test_the_metrics_info_carries_the_id_and_dimensions(synth_models: SynthModels, tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with serving(folder_of(tmp_path, synth_models.embedding["Q8_0"], "metrics"), metrics_port=port) as server:
        space = embed(server).vector_space_id
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server.metrics_port}/metrics", timeout=10) as r:
            text = r.read().decode()
    line = next(l for l in text.splitlines() if l.startswith("embedroute_model_info{"))
    assert f'vector_space_id="{space}"' in line
    assert 'dimensions="256"' in line and 'pooling="last"' in line


@pytest.fixture(autouse=True)
def _no_stray_sidecars(synth_models: SynthModels) -> Iterator[None]:
    """Servers write sidecars beside their symlinks in tmp_path, never into the shared cache."""
    yield
    assert not any(sidecar_path(p).exists() for p in synth_models.embedding.values())
