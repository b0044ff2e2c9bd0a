"""Bad batch input, each answered as OpenAI would, the rest of the job going on: malformed lines,
duplicate custom_ids, the wrong url or method, bodies the live route refuses, a file of the wrong
purpose, an unknown endpoint, an oversize upload; and another key cannot see, read or cancel a job."""

from __future__ import annotations

import io

import httpx
import openai
import pytest

from tests.http.batch_support import (
    KEY_A,
    KEY_B,
    MAX_FILE_BYTES,
    batch_served,
    embed_line,
    jsonl,
    read_lines,
    sdk,
    wait_final,
)
from tests.rpc.harness import RunningServer

__all__ = ["batch_served"]  # the module's server fixture


def test_bad_lines_are_reported_and_the_rest_runs(batch_served: RunningServer) -> None:
    client = sdk(batch_served, KEY_A)
    lines = [
        embed_line("good-1", "hello"),
        "{not json",
        '["a", "list"]',
        {"method": "POST", "url": "/v1/embeddings", "body": {"input": "no id"}},
        embed_line("good-1", "the same id again"),
        {"custom_id": "wrong-url", "method": "POST", "url": "/v1/chat/completions", "body": {"input": "x"}},
        {"custom_id": "wrong-method", "method": "GET", "url": "/v1/embeddings", "body": {"input": "x"}},
        embed_line("too-long", "word " * 5000),
        embed_line("bad-dimensions", "hello", dimensions=-3),
        "",
        embed_line("good-2", "world"),
    ]
    uploaded = client.files.create(file=("bad.jsonl", io.BytesIO(jsonl(lines))), purpose="batch")
    done = wait_final(client, client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings",
                                                    completion_window="24h").id)
    assert done.status == "completed"
    assert done.errors is not None and done.errors.data is not None
    assert [(e.code, e.line) for e in done.errors.data] == [
        ("invalid_json_line", 2), ("invalid_json_line", 3), ("missing_custom_id", 4), ("duplicate_custom_id", 5),
    ]
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (6, 2, 4)
    assert sorted(o["custom_id"] for o in read_lines(client, done.output_file_id)) == ["good-1", "good-2"]
    errors = {e["custom_id"]: e for e in read_lines(client, done.error_file_id)}
    assert errors["wrong-url"]["response"] is None and errors["wrong-url"]["error"]["code"] == "invalid_url"
    assert errors["wrong-method"]["error"]["code"] == "invalid_method"
    for custom_id in ("too-long", "bad-dimensions"):
        live = httpx.post(f"{batch_served.http_url}/v1/embeddings", headers={"authorization": f"Bearer {KEY_A}"},
                          json=next(x for x in lines if isinstance(x, dict) and x.get("custom_id") == custom_id)["body"])
        assert errors[custom_id]["error"] is None
        assert errors[custom_id]["response"]["status_code"] == live.status_code == 400
        assert errors[custom_id]["response"]["body"] == live.json()


def test_a_file_of_another_purpose_and_unknown_endpoints_are_refused(batch_served: RunningServer) -> None:
    client = sdk(batch_served, KEY_A)
    with pytest.raises(openai.BadRequestError, match="purpose must be 'batch'"):
        client.files.create(file=("x.jsonl", io.BytesIO(b"{}\n")), purpose="fine-tune")
    uploaded = client.files.create(file=("x.jsonl", io.BytesIO(jsonl([embed_line("a", "b")]))), purpose="batch")
    with pytest.raises(openai.BadRequestError, match="not served in batches") as refused:
        client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert refused.value.body["param"] == "endpoint"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError, match="completion_window"):
        client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="1h")  # type: ignore[arg-type]
    with pytest.raises(openai.NotFoundError):
        client.batches.create(input_file_id="file-nope", endpoint="/v1/embeddings", completion_window="24h")
    done = wait_final(client, client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings",
                                                    completion_window="24h").id)
    with pytest.raises(openai.BadRequestError, match="purpose 'batch_output'"):
        client.batches.create(input_file_id=done.output_file_id or "", endpoint="/v1/embeddings",
                              completion_window="24h")


def test_an_oversize_upload_is_refused_and_leaves_nothing(batch_served: RunningServer) -> None:
    client = sdk(batch_served, KEY_A)
    files = batch_served.settings.data_dir / "files"  # type: ignore[operator]
    before = set(files.iterdir())
    with pytest.raises(openai.APIStatusError, match="batch_max_file_bytes") as refused:
        client.files.create(file=("big.jsonl", io.BytesIO(b"x" * (MAX_FILE_BYTES + 1))), purpose="batch")
    assert refused.value.status_code == 413

    def chunked() -> object:  # no content-length: refused once the streamed bytes pass the limit
        yield b"--b\r\ncontent-disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
        yield b"--b\r\ncontent-disposition: form-data; name=\"file\"; filename=\"big.jsonl\"\r\n\r\n"
        for _ in range(MAX_FILE_BYTES // 65536 + 2):
            yield b"y" * 65536
        yield b"\r\n--b--\r\n"

    answer = httpx.post(f"{batch_served.http_url}/v1/files", content=chunked(),  # type: ignore[arg-type]
                        headers={"authorization": f"Bearer {KEY_A}", "content-type": "multipart/form-data; boundary=b"})
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "request_too_large"
    assert set(files.iterdir()) == before


def test_another_key_cannot_see_read_or_cancel(batch_served: RunningServer) -> None:
    owner, other = sdk(batch_served, KEY_A), sdk(batch_served, KEY_B)
    uploaded = owner.files.create(file=("t.jsonl", io.BytesIO(jsonl([embed_line("t", "secret")]))), purpose="batch")
    batch = owner.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
    for attempt in (
        lambda: other.files.retrieve(uploaded.id),
        lambda: other.files.content(uploaded.id),
        lambda: other.files.delete(uploaded.id),
        lambda: other.batches.retrieve(batch.id),
        lambda: other.batches.cancel(batch.id),
        lambda: other.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h"),
    ):
        with pytest.raises(openai.NotFoundError):
            attempt()
    assert batch.id not in [b.id for b in other.batches.list()]
    done = wait_final(owner, batch.id)
    with pytest.raises(openai.NotFoundError):
        other.files.content(done.output_file_id or "")
    assert owner.files.delete(uploaded.id).deleted
    with pytest.raises(openai.NotFoundError):
        owner.files.retrieve(uploaded.id)
