"""What the batch API's tests share: a loaded server with the HTTP front, a data_dir, two API keys,
small chunks (so a job spans several commits) and a small file limit (so an oversize upload is cheap)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from router import ModelPlan
from tests.hardening.conftest import free_port
from tests.rpc.harness import RunningServer, server_settings

KEY_A = "key-a-0123456789"
KEY_B = "key-b-0123456789"
MAX_FILE_BYTES = 256 * 1024
CHUNK_LINES = 4


@pytest.fixture(scope="module")
def batch_served(models_dir: Path, http_plans: list[ModelPlan], tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[RunningServer]:
    settings = server_settings(
        models_dir, http_port=free_port(), data_dir=tmp_path_factory.mktemp("data"), api_keys=[KEY_A, KEY_B],
        batch_max_file_bytes=MAX_FILE_BYTES, batch_chunk_lines=CHUNK_LINES, cache="off",
    )
    server = RunningServer(settings, http_plans).load()
    yield server
    server.stop()


def sdk(server: RunningServer, key: str) -> openai.OpenAI:
    return sdk_at(server.http_url, key)


def sdk_at(url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=60)


def jsonl(lines: list[Any]) -> bytes:
    """Each entry a line: a dict as JSON, a str as it is."""
    return b"".join((json.dumps(x) if isinstance(x, dict) else x).encode() + b"\n" for x in lines)


def embed_line(custom_id: str, text: str | list[str], **body: Any) -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/embeddings",
            "body": {"model": "qwen3-embedding-tiny", "input": text, **body}}


def wait_final(client: openai.OpenAI, batch_id: str, timeout_s: float = 120) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        batch = client.batches.retrieve(batch_id)
        if batch.status in ("completed", "failed", "cancelled", "expired"):
            return batch
        assert time.monotonic() < deadline, f"batch still {batch.status}"
        time.sleep(0.1)


def read_lines(client: openai.OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines()]
