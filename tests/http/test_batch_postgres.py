"""The Batch API on the fleet store (jobs_store = a real PostgreSQL), through the real openai SDK: the
flow end to end with vectors equal to the live route's, the bytes in the database (no data_dir), a
file of several pieces read back whole, cancel, and another key seeing nothing."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import openai
import psycopg
import pytest
from openai.types import Batch, CreateEmbeddingResponse, FileObject

from router import ModelPlan
from service.batch.postgres import PIECE_BYTES, PostgresStore
from service.batch.records import BatchRecord, new_id
from tests.hardening.conftest import free_port
from tests.http.batch_support import KEY_A, KEY_B, embed_line, jsonl, read_lines, sdk, wait_final
from tests.http.postgres_support import PostgresServer, postgres
from tests.rpc.harness import RunningServer, server_settings

__all__ = ["postgres"]  # the session's PostgreSQL fixture

CHUNK_LINES = 4
MAX_FILE_BYTES = 2 * 1024 * 1024
TEXTS = [f"document number {i} about fleets of servers" for i in range(10)]


@pytest.fixture(scope="module")
def pg_served(models_dir: Path, http_plans: list[ModelPlan], postgres: PostgresServer) -> Iterator[RunningServer]:
    settings = server_settings(
        models_dir, http_port=free_port(), jobs_store=postgres.database(), api_keys=[KEY_A, KEY_B],
        batch_max_file_bytes=MAX_FILE_BYTES, batch_chunk_lines=CHUNK_LINES, cache="off",
    )
    assert settings.data_dir is None
    server = RunningServer(settings, http_plans).load()
    yield server
    server.stop()


def test_the_sdk_flow_on_postgres_answers_as_the_live_route(pg_served: RunningServer) -> None:
    client = sdk(pg_served, KEY_A)
    lines = [embed_line(f"req-{i}", text) for i, text in enumerate(TEXTS)]
    uploaded = client.files.create(file=("in.jsonl", io.BytesIO(jsonl(lines))), purpose="batch")
    assert isinstance(uploaded, FileObject)
    assert client.files.content(uploaded.id).content == jsonl(lines)
    created = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
    assert isinstance(created, Batch)
    done = wait_final(client, created.id)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (10, 10, 0)
    assert done.error_file_id is None
    assert [b.id for b in client.batches.list(limit=1).data] == [created.id]

    out = read_lines(client, done.output_file_id)
    assert [o["custom_id"] for o in out] == [f"req-{i}" for i in range(len(TEXTS))]  # input order, chunk by chunk
    for o in out:
        body = CreateEmbeddingResponse.model_validate(o["response"]["body"])
        live = client.embeddings.create(model="qwen3-embedding-tiny", input=TEXTS[int(o["custom_id"][4:])],
                                        encoding_format="float")
        assert body.usage == live.usage and body.model == live.model
        np.testing.assert_array_equal(np.array(body.data[0].embedding, np.float32),
                                      np.array(live.data[0].embedding, np.float32))

    with psycopg.connect(pg_served.settings.jobs_store) as db:
        chunks = db.execute("SELECT COUNT(*), SUM(done) FROM chunks WHERE batch_id = %s", (created.id,)).fetchone()
        result_bytes = db.execute("SELECT SUM(length(data)) FROM pieces WHERE blob = %s",
                                  (f"{created.id}.output",)).fetchone()
    assert chunks == (3, 3)  # 10 lines in chunks of 4
    assert result_bytes == (client.files.retrieve(done.output_file_id or "").bytes,)


def test_a_file_of_several_pieces_is_stored_in_pieces_and_read_back_whole(pg_served: RunningServer) -> None:
    client = sdk(pg_served, KEY_A)
    lines = [embed_line(f"big-{i}", f"{i} " + "x" * 900) for i in range(1200)]
    content = jsonl(lines)
    assert 3 * PIECE_BYTES < len(content) < MAX_FILE_BYTES
    uploaded = client.files.create(file=("big.jsonl", io.BytesIO(content)), purpose="batch")
    assert uploaded.bytes == len(content)
    assert client.files.content(uploaded.id).content == content
    with psycopg.connect(pg_served.settings.jobs_store) as db:
        sizes = [row[0] for row in db.execute("SELECT length(data) FROM pieces WHERE blob = %s ORDER BY seq",
                                              (uploaded.id,))]
    assert sizes[:-1] == [PIECE_BYTES] * (len(sizes) - 1) and sum(sizes) == len(content)
    client.files.delete(uploaded.id)
    with psycopg.connect(pg_served.settings.jobs_store) as db:
        assert db.execute("SELECT COUNT(*) FROM pieces WHERE blob = %s", (uploaded.id,)).fetchone() == (0,)


def test_cancel_on_postgres_keeps_the_lines_so_far(pg_served: RunningServer) -> None:
    client = sdk(pg_served, KEY_A)
    long_text = " ".join(["word"] * 300)
    lines = [embed_line(f"c{i}", [long_text] * 2) for i in range(40)]
    uploaded = client.files.create(file=("c.jsonl", io.BytesIO(jsonl(lines))), purpose="batch")
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
    assert client.batches.cancel(batch.id).status == "cancelling"
    done = wait_final(client, batch.id)
    assert done.status == "cancelled" and done.request_counts is not None
    assert done.request_counts.completed < len(lines)
    assert len(read_lines(client, done.output_file_id)) == done.request_counts.completed


def test_another_key_cannot_see_read_or_cancel(pg_served: RunningServer) -> None:
    owner, other = sdk(pg_served, KEY_A), sdk(pg_served, KEY_B)
    uploaded = owner.files.create(file=("t.jsonl", io.BytesIO(jsonl([embed_line("t", "hello")]))), purpose="batch")
    batch = owner.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
    for call in (lambda: other.files.retrieve(uploaded.id), lambda: other.files.content(uploaded.id),
                 lambda: other.batches.retrieve(batch.id), lambda: other.batches.cancel(batch.id),
                 lambda: other.files.delete(uploaded.id)):
        with pytest.raises(openai.NotFoundError):
            call()
    assert uploaded.id not in [f.id for f in other.files.list()]
    assert batch.id not in [b.id for b in other.batches.list()]
    assert wait_final(owner, batch.id).status == "completed"


def test_a_job_past_its_window_expires_on_postgres(pg_served: RunningServer) -> None:
    """The window's end moved to the past in the database, mid-job: the lines not yet run are answered
    `batch_expired`, the job is `expired`, each custom_id once."""
    client = sdk(pg_served, KEY_A)
    long_text = " ".join(["slow"] * 300)
    lines = [embed_line(f"e{i}", [long_text] * 2) for i in range(40)]
    uploaded = client.files.create(file=("e.jsonl", io.BytesIO(jsonl(lines))), purpose="batch")
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
    while (seen := client.batches.retrieve(batch.id)).request_counts is None or seen.request_counts.completed < 4:
        assert seen.status in ("validating", "in_progress")
        time.sleep(0.01)
    with psycopg.connect(pg_served.settings.jobs_store) as db:
        db.execute("UPDATE batches SET expires_at = %s WHERE id = %s", (int(time.time()) - 1, batch.id))
    done = wait_final(client, batch.id)
    assert done.status == "expired" and done.expired_at is not None and done.request_counts is not None
    ran, expired = done.request_counts.completed, done.request_counts.failed
    assert 4 <= ran < len(lines) and ran + expired == len(lines) == done.request_counts.total
    failed = read_lines(client, done.error_file_id)
    assert {(f["response"], f["error"]["code"]) for f in failed} == {(None, "batch_expired")}
    answered = [o["custom_id"] for o in read_lines(client, done.output_file_id) + failed]
    assert sorted(answered) == sorted(line["custom_id"] for line in lines)


def test_replicas_racing_for_a_keys_last_job_slot_add_one(postgres: PostgresServer) -> None:
    """Eight replicas' stores add a job for one key at the same moment with room for one: the count and
    the insert are one step under the key's advisory lock, so one is added and seven find the key full
    (counted first and added after, most of them passed)."""
    url = postgres.database()
    stores = [PostgresStore(url) for _ in range(8)]
    start = threading.Barrier(8)

    def record(tenant: str) -> BatchRecord:
        return BatchRecord(new_id("batch_"), tenant, "/v1/embeddings", "file-x", "24h", "validating", 0, 86400, None)

    def add(store: PostgresStore) -> int:
        job = record("tenant-a")
        start.wait()
        return store.add_batch(job, 1)

    try:
        with ThreadPoolExecutor(8) as pool:
            found = sorted(pool.map(add, stores))
        assert found == [0] + [1] * 7
        assert stores[0].add_batch(record("tenant-b"), 1) == 0  # another key is not held back
        with psycopg.connect(url) as db:
            counts = db.execute("SELECT tenant, COUNT(*) FROM batches GROUP BY tenant ORDER BY tenant").fetchall()
        assert counts == [("tenant-a", 1), ("tenant-b", 1)]
    finally:
        for store in stores:
            store.close()
