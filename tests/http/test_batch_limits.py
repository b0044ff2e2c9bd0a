"""The batch API's limits from the one config: total storage (an upload past it is refused with 429 and
leaves nothing; deleting makes room), unfinished jobs per key (one more is 429; another key is not
held back), and one server per data_dir."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from router import ModelPlan
from router.errors import ConfigError
from service.batch import BatchJobs
from tests.hardening.conftest import free_port
from tests.http.batch_support import KEY_A, KEY_B, embed_line, jsonl, sdk, wait_final
from tests.rpc.harness import RunningServer, server_settings

STORAGE = 64 * 1024
JOBS = 2


@pytest.fixture(scope="module")
def limited(models_dir: Path, http_plans: list[ModelPlan], tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[RunningServer]:
    settings = server_settings(
        models_dir, http_port=free_port(), data_dir=tmp_path_factory.mktemp("data"), api_keys=[KEY_A, KEY_B],
        batch_max_storage_bytes=STORAGE, batch_max_jobs_per_key=JOBS, cache="off",
    )
    server = RunningServer(settings, http_plans).load()
    yield server
    server.stop()


def test_storage_is_bounded_and_deleting_frees_it(limited: RunningServer) -> None:
    client = sdk(limited, KEY_A)
    data = io.BytesIO(b"x" * (40 * 1024))
    kept = client.files.create(file=("a.jsonl", data), purpose="batch")
    with pytest.raises(openai.RateLimitError, match="batch_max_storage_bytes"):
        client.files.create(file=("b.jsonl", io.BytesIO(b"y" * (40 * 1024))), purpose="batch")
    assert sorted(p.name for p in (limited.settings.data_dir / "files").iterdir()) == [kept.id]  # type: ignore[operator]
    client.files.delete(kept.id)
    now_kept = client.files.create(file=("b.jsonl", io.BytesIO(b"y" * (40 * 1024))), purpose="batch")
    client.files.delete(now_kept.id)


def test_unfinished_jobs_per_key_are_bounded(limited: RunningServer) -> None:
    owner, other = sdk(limited, KEY_A), sdk(limited, KEY_B)
    lines = jsonl([embed_line(f"j{i}", " ".join(["busy"] * 300)) for i in range(30)])
    uploaded = owner.files.create(file=("j.jsonl", io.BytesIO(lines)), purpose="batch")
    ids = [owner.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h").id
           for _ in range(JOBS)]
    with pytest.raises(openai.RateLimitError, match="batch_max_jobs_per_key"):
        owner.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
    small = other.files.create(file=("o.jsonl", io.BytesIO(jsonl([embed_line("o", "hi")]))), purpose="batch")
    theirs = other.batches.create(input_file_id=small.id, endpoint="/v1/embeddings", completion_window="24h")
    for batch_id in ids:
        owner.batches.cancel(batch_id)
        assert wait_final(owner, batch_id).status == "cancelled"
    assert wait_final(other, theirs.id).status == "completed"
    owner.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")


def test_a_second_server_on_the_same_data_dir_is_refused(limited: RunningServer) -> None:
    """Two servers running one store's jobs would answer each line twice: the second is refused at start."""
    with pytest.raises(ConfigError, match="in use by another embedroute server"):
        BatchJobs(limited.settings, {})
