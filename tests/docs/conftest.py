"""The server `make demo` leaves running, on free loopback ports: the default model (all-MiniLM-L6-v2,
converted by our own converter), no reranker, both fronts, batch jobs on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hardening.conftest import free_port
from tests.models.conftest import checkpoint, minilm  # noqa: F401 - the converted default model, shared
from tests.rpc.harness import RunningServer, server_settings


@pytest.fixture(scope="module")
def demo(minilm: dict[str, Path], tmp_path_factory: pytest.TempPathFactory  # noqa: F811 - imported above
         ) -> Iterator[RunningServer]:
    settings = server_settings(minilm["F32"].parent, http_port=free_port(), data_dir=tmp_path_factory.mktemp("batch"))
    server = RunningServer(settings).load()
    yield server
    server.stop()
