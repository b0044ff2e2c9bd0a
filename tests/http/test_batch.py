"""The Batch API through the real openai SDK: upload, create, retrieve, list, results parsed by the SDK's
types, each line's body what the live route answers, vectors equal to the live route's."""

from __future__ import annotations

import io
import sqlite3
import time

import numpy as np
import openai
from openai.types import Batch, CreateEmbeddingResponse, FileObject

from tests.http.batch_support import CHUNK_LINES, KEY_A, batch_served, embed_line, jsonl, read_lines, sdk, wait_final
from tests.rpc.harness import RunningServer

__all__ = ["batch_served"]  # the module's server fixture

TEXTS = [f"document number {i} about batch jobs" for i in range(10)]


def test_a_job_answers_every_line_as_the_live_route(batch_served: RunningServer) -> None:
    client = sdk(batch_served, KEY_A)
    lines = [embed_line(f"req-{i}", text) for i, text in enumerate(TEXTS)]
    lines.append(embed_line("two", TEXTS[:2], dimensions=32))
    uploaded = client.files.create(file=("in.jsonl", io.BytesIO(jsonl(lines))), purpose="batch")
    assert isinstance(uploaded, FileObject)
    assert (uploaded.purpose, uploaded.filename, uploaded.bytes) == ("batch", "in.jsonl", len(jsonl(lines)))
    assert client.files.retrieve(uploaded.id).id == uploaded.id
    assert client.files.content(uploaded.id).content == jsonl(lines)

    created = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h",
                                    metadata={"run": "test"})
    assert isinstance(created, Batch)
    assert (created.status, created.endpoint, created.metadata) == ("validating", "/v1/embeddings", {"run": "test"})
    done = wait_final(client, created.id)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (11, 11, 0)
    assert done.error_file_id is None and done.errors is None
    assert done.in_progress_at is not None and done.finalizing_at is not None and done.completed_at is not None
    assert len(TEXTS) + 1 > CHUNK_LINES  # the job spanned several committed chunks

    out = read_lines(client, done.output_file_id)
    assert sorted(o["custom_id"] for o in out) == sorted(line["custom_id"] for line in lines)
    assert client.files.retrieve(done.output_file_id or "").purpose == "batch_output"
    for o in out:
        assert o["id"].startswith("batch_req_") and o["error"] is None
        assert o["response"]["status_code"] == 200 and o["response"]["request_id"]
        body = CreateEmbeddingResponse.model_validate(o["response"]["body"])
        if o["custom_id"] == "two":
            live = client.embeddings.create(model="qwen3-embedding-tiny", input=TEXTS[:2], dimensions=32,
                                            encoding_format="float")
        else:
            live = client.embeddings.create(model="qwen3-embedding-tiny", input=TEXTS[int(o["custom_id"][4:])],
                                            encoding_format="float")
        assert body.usage == live.usage and body.model == live.model
        for got, want in zip(body.data, live.data, strict=True):
            np.testing.assert_array_equal(np.array(got.embedding, np.float32), np.array(want.embedding, np.float32))


def test_rerank_lines_take_cohere_bodies(batch_served: RunningServer) -> None:
    client = sdk(batch_served, KEY_A)
    line = {"custom_id": "r1", "method": "POST", "url": "/v1/rerank",
            "body": {"query": "what is a cat", "documents": ["a cat is an animal", "paris is a city"], "top_n": 2}}
    uploaded = client.files.create(file=("r.jsonl", io.BytesIO(jsonl([line]))), purpose="batch")
    done = wait_final(client, client.batches.create(input_file_id=uploaded.id, endpoint="/v1/rerank",
                                                    completion_window="24h").id)
    [out] = read_lines(client, done.output_file_id)
    live = batch_served.run(_live_rerank(batch_served))
    results = out["response"]["body"]["results"]
    assert [(r["index"], r["relevance_score"]) for r in results] == live


async def _live_rerank(server: RunningServer) -> list[tuple[int, float]]:
    import httpx

    async with httpx.AsyncClient(base_url=server.http_url, headers={"authorization": f"Bearer {KEY_A}"}) as http:
        answer = await http.post("/v1/rerank", json={"query": "what is a cat",
                                                    "documents": ["a cat is an animal", "paris is a city"], "top_n": 2})
    return [(r["index"], r["relevance_score"]) for r in answer.json()["results"]]


def test_list_pages_newest_first(batch_served: RunningServer) -> None:
    client = sdk(batch_served, KEY_A)
    uploaded = client.files.create(file=("l.jsonl", io.BytesIO(jsonl([embed_line("x", "hello")]))), purpose="batch")
    ids = [client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h").id
           for _ in range(3)]
    first = client.batches.list(limit=2)
    assert [b.id for b in first.data] == ids[::-1][:2] and first.has_more
    second = client.batches.list(limit=2, after=first.data[-1].id)
    assert second.data[0].id == ids[0]
    every = [b.id for b in client.batches.list(limit=2)]  # the SDK follows `after` page by page
    assert every[:3] == ids[::-1] and len(every) == len(set(every))
    for batch_id in ids:
        wait_final(client, batch_id)


def test_cancel_stops_a_job_with_its_lines_so_far(batch_served: RunningServer) -> None:
    client = sdk(batch_served, KEY_A)
    long_text = " ".join(["word"] * 300)
    lines = [embed_line(f"c{i}", [long_text] * 2) for i in range(40)]
    uploaded = client.files.create(file=("c.jsonl", io.BytesIO(jsonl(lines))), purpose="batch")
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at is not None
    done = wait_final(client, batch.id)
    assert done.status == "cancelled" and done.cancelled_at is not None
    assert done.request_counts is not None and done.request_counts.completed < len(lines)
    assert len(read_lines(client, done.output_file_id)) == done.request_counts.completed
    try:
        client.batches.cancel(batch.id)
        raise AssertionError("a cancelled batch was cancelled again")
    except openai.BadRequestError as exc:
        assert "cancelled" in str(exc)


def test_a_job_past_its_window_expires_with_its_lines_so_far(batch_served: RunningServer) -> None:
    """The window's end is moved to the past in the store (as 24 hours passing would), mid-job: the lines
    not yet run are answered `batch_expired` in the error file, and the job is `expired`."""
    client = sdk(batch_served, KEY_A)
    long_text = " ".join(["slow"] * 300)
    lines = [embed_line(f"e{i}", [long_text] * 2) for i in range(40)]
    uploaded = client.files.create(file=("e.jsonl", io.BytesIO(jsonl(lines))), purpose="batch")
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
    while (seen := client.batches.retrieve(batch.id)).request_counts is None or seen.request_counts.completed < 4:
        assert seen.status in ("validating", "in_progress")
        time.sleep(0.01)
    with sqlite3.connect(batch_served.settings.data_dir / "jobs.sqlite3") as db:  # type: ignore[operator]
        db.execute("UPDATE batches SET expires_at = ? WHERE id = ?", (int(time.time()) - 1, batch.id))
    done = wait_final(client, batch.id)
    assert done.status == "expired" and done.expired_at is not None
    assert done.request_counts is not None
    ran, expired = done.request_counts.completed, done.request_counts.failed
    assert 4 <= ran < len(lines) and ran + expired == len(lines) == done.request_counts.total
    failed = read_lines(client, done.error_file_id)
    assert {(f["response"], f["error"]["code"]) for f in failed} == {(None, "batch_expired")}
    answered = [o["custom_id"] for o in read_lines(client, done.output_file_id) + failed]
    assert sorted(answered) == sorted(line["custom_id"] for line in lines)
