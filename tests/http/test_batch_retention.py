"""Stored batch files are deleted `batch_retention_seconds` after they were made: the id answers 404 and
the bytes are gone; a job's record stays."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from router import ModelPlan
from tests.hardening.conftest import free_port
from tests.http.batch_support import KEY_A, embed_line, jsonl, sdk, wait_final
from tests.rpc.harness import RunningServer, server_settings

RETENTION_S = 2.0


@pytest.fixture(scope="module")
def short_lived(models_dir: Path, http_plans: list[ModelPlan], tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[RunningServer]:
    settings = server_settings(models_dir, http_port=free_port(), data_dir=tmp_path_factory.mktemp("data"),
                               api_keys=[KEY_A], batch_retention_seconds=RETENTION_S)
    server = RunningServer(settings, http_plans).load()
    yield server
    server.stop()


def test_files_are_purged_after_the_retention(short_lived: RunningServer) -> None:
    client = sdk(short_lived, KEY_A)
    uploaded = client.files.create(file=("r.jsonl", io.BytesIO(jsonl([embed_line("r", "hello")]))), purpose="batch")
    done = wait_final(client, client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings",
                                                    completion_window="24h").id)
    assert done.status == "completed"
    deadline = time.monotonic() + RETENTION_S + 10
    for file_id in (uploaded.id, done.output_file_id or ""):
        while True:
            try:
                client.files.retrieve(file_id)
            except openai.NotFoundError:
                break
            assert time.monotonic() < deadline, f"{file_id} outlived the retention"
            time.sleep(0.1)
    assert client.batches.retrieve(done.id).status == "completed"
    assert list((short_lived.settings.data_dir / "files").iterdir()) == []  # type: ignore[operator]
