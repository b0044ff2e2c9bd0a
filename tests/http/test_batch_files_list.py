"""`GET /v1/files` (OpenAI's list) through the openai SDK's `files.list`, on both stores: the key's own
files only, newest first or oldest first, `purpose`, `limit` and `after` pages, and bad parameters."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from router import ModelPlan
from tests.hardening.conftest import free_port
from tests.http.batch_support import KEY_A, KEY_B, embed_line, jsonl, sdk, wait_final
from tests.http.postgres_support import PostgresServer, postgres
from tests.rpc.harness import RunningServer, server_settings

__all__ = ["postgres"]  # the session's PostgreSQL fixture


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, models_dir: Path, http_plans: list[ModelPlan],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    store = ({"data_dir": tmp_path_factory.mktemp("data")} if request.param == "sqlite"
             else {"jobs_store": request.getfixturevalue("postgres").database()})
    settings = server_settings(models_dir, http_port=free_port(), api_keys=[KEY_A, KEY_B], batch_chunk_lines=4,
                               cache="off", **store)
    server = RunningServer(settings, http_plans).load()
    yield server
    server.stop()


def test_files_list_is_the_keys_own_and_pages(served: RunningServer) -> None:
    client, other = sdk(served, KEY_A), sdk(served, KEY_B)
    mine = [client.files.create(file=(f"f{i}.jsonl", io.BytesIO(jsonl([embed_line(f"x{i}", "hello")]))),
                                purpose="batch").id for i in range(3)]
    theirs = other.files.create(file=("o.jsonl", io.BytesIO(jsonl([embed_line("o", "hi")]))), purpose="batch").id
    done = wait_final(client, client.batches.create(input_file_id=mine[0], endpoint="/v1/embeddings",
                                                    completion_window="24h").id)
    output = done.output_file_id
    assert output is not None

    every = [f.id for f in client.files.list()]
    assert set(every) == {*mine, output} and theirs not in every
    assert [f.id for f in other.files.list()] == [theirs]
    assert [f.id for f in client.files.list(purpose="batch")] == _by_creation(client, mine)[::-1]  # newest first
    assert [f.id for f in client.files.list(purpose="batch_output")] == [output]

    oldest = client.files.list(purpose="batch", order="asc", limit=2)
    assert len(oldest.data) == 2 and oldest.has_more
    rest = client.files.list(purpose="batch", order="asc", limit=2, after=oldest.data[-1].id)
    assert [f.id for f in oldest.data + rest.data] == _by_creation(client, mine) and not rest.has_more
    newest = client.files.list(purpose="batch", limit=2)
    assert [f.id for f in newest.data] == _by_creation(client, mine)[::-1][:2]
    assert [f.id for f in client.files.list(purpose="batch", limit=1)] == _by_creation(client, mine)[::-1]  # SDK pages

    with httpx.Client(base_url=served.http_url, headers={"authorization": f"Bearer {KEY_A}"}) as http:
        page = http.get("/v1/files", params={"purpose": "batch", "limit": 1, "order": "asc"}).json()
        first = _by_creation(client, mine)[0]
        assert (page["object"], page["first_id"], page["last_id"], page["has_more"]) == ("list", first, first, True)
        for params, field in (({"limit": 0}, "limit"), ({"limit": "many"}, "limit"), ({"order": "sideways"}, "order")):
            answer = http.get("/v1/files", params=params)
            assert answer.status_code == 400 and answer.json()["error"]["param"] == field


def _by_creation(client: openai.OpenAI, ids: list[str]) -> list[str]:
    """The files oldest first as OpenAI orders them: by creation (a second's), then by id."""
    files = {f.id: f for f in client.files.list(purpose="batch")}
    return sorted(ids, key=lambda i: (files[i].created_at, i))
