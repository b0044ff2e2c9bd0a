"""BatchService against a real server: a job submitted as a stream of embedroute.v1 requests, watched
to its end, its results equal to the live Embed and Rerank calls; cancel; another key sees nothing;
bad lines are answered per line and the rest of the job runs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import grpc
import httpx
import pytest
from google.protobuf import json_format
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from router import ModelPlan
from service.rpc.generated.embedroute.v1 import (
    batch_pb2,
    batch_pb2_grpc,
    embed_pb2,
    embed_pb2_grpc,
    rerank_pb2,
    rerank_pb2_grpc,
)
from tests.hardening.conftest import free_port
from tests.rpc.conftest import EMBED_MODEL
from tests.rpc.harness import RunningServer, details_of, rich_status, server_settings

KEY_A = "key-a-0123456789"
KEY_B = "key-b-0123456789"
CHUNK_LINES = 4
CANCEL_LINES = 400
"""Seconds of work uncancelled: far more than a CancelBatch takes to arrive, however slow the machine."""
MAX_FILE_BYTES = 2 * 1024 * 1024
TEXTS = [f"document number {i} about batch jobs" for i in range(10)]
S = batch_pb2
M = TypeVar("M", embed_pb2.EmbedResponse, rerank_pb2.RerankResponse)


@pytest.fixture(scope="module")
def batch_rpc(models_dir: Path, plans: list[ModelPlan], tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[RunningServer]:
    settings = server_settings(models_dir, data_dir=tmp_path_factory.mktemp("data"), api_keys=[KEY_A, KEY_B],
                               batch_chunk_lines=CHUNK_LINES, cache="off", http_port=free_port(),
                               batch_max_file_bytes=MAX_FILE_BYTES)
    server = RunningServer(settings, plans).load()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def channel(batch_rpc: RunningServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(batch_rpc.target) as ch:
        yield ch


@pytest.fixture()
def channel_plain(served: RunningServer) -> Iterator[grpc.Channel]:
    """The session's server, started without a data_dir."""
    with grpc.insecure_channel(served.target) as ch:
        yield ch


def auth(key: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {key}"),)


def embed_line(custom_id: str, *texts: str, dimensions: int = 0) -> batch_pb2.SubmitBatchRequest:
    return S.SubmitBatchRequest(custom_id=custom_id, embed=embed_pb2.EmbedRequest(
        model=EMBED_MODEL, inputs=list(texts), options=embed_pb2.EmbedOptions(dimensions=dimensions)))


def submit(channel: grpc.Channel, lines: list[batch_pb2.SubmitBatchRequest], key: str = KEY_A) -> batch_pb2.Batch:
    return batch_pb2_grpc.BatchServiceStub(channel).SubmitBatch(iter(lines), metadata=auth(key)).batch


def watch(channel: grpc.Channel, batch_id: str, key: str = KEY_A) -> list[batch_pb2.Batch]:
    stream = batch_pb2_grpc.BatchServiceStub(channel).WatchBatch(S.WatchBatchRequest(batch_id=batch_id),
                                                                 metadata=auth(key), timeout=120)
    return [m.batch for m in stream]


def results(channel: grpc.Channel, batch_id: str, key: str = KEY_A) -> dict[str, batch_pb2.BatchResultsResponse]:
    stream = batch_pb2_grpc.BatchServiceStub(channel).BatchResults(S.BatchResultsRequest(batch_id=batch_id),
                                                                   metadata=auth(key))
    answers = list(stream)
    by_id = {a.custom_id: a for a in answers}
    assert len(by_id) == len(answers)  # each custom_id once
    return by_id


def untimed(response: M) -> M:
    """The response without its usage's timings (which differ from call to call); tokens stay."""
    for name in ("queue_time_ns", "tokenization_time_ns", "inference_time_ns", "total_time_ns"):
        response.usage.ClearField(name)  # type: ignore[attr-defined]
    return response


def test_a_job_watched_to_its_end_answers_as_the_live_embed(channel: grpc.Channel) -> None:
    lines = [embed_line(f"req-{i}", text) for i, text in enumerate(TEXTS)]
    lines.append(embed_line("two", *TEXTS[:2], dimensions=32))
    created = submit(channel, lines)
    assert created.status == S.BATCH_STATUS_VALIDATING and created.id.startswith("batch_")

    seen = watch(channel, created.id)
    assert seen[-1].status == S.BATCH_STATUS_COMPLETED
    assert (seen[-1].total, seen[-1].completed, seen[-1].failed) == (11, 11, 0)
    assert seen[-1].ended_at >= seen[-1].created_at and seen[-1].output_file_id and not seen[-1].error_file_id
    states = [(b.status, b.total, b.completed, b.failed) for b in seen]
    assert all(a != b for a, b in zip(states, states[1:]))  # each message a change
    assert [b.completed for b in seen] == sorted(b.completed for b in seen)  # counts only grow
    assert len(TEXTS) + 1 > CHUNK_LINES
    got = batch_pb2_grpc.BatchServiceStub(channel).GetBatch(S.GetBatchRequest(batch_id=created.id), metadata=auth(KEY_A))
    assert got.batch == seen[-1]

    answers = results(channel, created.id)
    assert sorted(answers) == sorted(line.custom_id for line in lines)
    live = embed_pb2_grpc.EmbedServiceStub(channel)
    for line in lines:
        answer = answers[line.custom_id]
        assert answer.WhichOneof("result") == "embed"
        assert untimed(answer.embed) == untimed(live.Embed(line.embed, metadata=auth(KEY_A)))  # vectors bit for bit


def test_rerank_lines_answer_as_the_live_rerank(channel: grpc.Channel) -> None:
    request = rerank_pb2.RerankRequest(query="what is a cat", documents=["a cat is an animal", "paris is a city"],
                                       top_n=2)
    created = submit(channel, [S.SubmitBatchRequest(custom_id="r1", rerank=request)])
    assert watch(channel, created.id)[-1].status == S.BATCH_STATUS_COMPLETED
    answers = results(channel, created.id)
    live = rerank_pb2_grpc.RerankServiceStub(channel).Rerank(request, metadata=auth(KEY_A))
    assert untimed(answers["r1"].rerank) == untimed(live)


def test_bad_lines_are_answered_per_line_and_the_rest_runs(channel: grpc.Channel) -> None:
    lines = [
        embed_line("good", "a text"),
        S.SubmitBatchRequest(custom_id="nothing"),  # no request
        S.SubmitBatchRequest(custom_id="other-kind", rerank=rerank_pb2.RerankRequest(query="q", documents=["d"])),
        embed_line("empty-input", ""),
        embed_line("", "no custom id"),
        embed_line("good", "a repeated custom id"),
        S.SubmitBatchRequest(custom_id="no-model", embed=embed_pb2.EmbedRequest(model="nope", inputs=["x"])),
    ]
    created = submit(channel, lines)
    done = watch(channel, created.id)[-1]
    assert done.status == S.BATCH_STATUS_COMPLETED
    assert (done.total, done.completed, done.failed) == (5, 1, 4)
    assert [(e.code, e.line) for e in done.errors] == [("missing_custom_id", 5), ("duplicate_custom_id", 6)]
    answers = results(channel, created.id)
    assert sorted(answers) == ["empty-input", "good", "no-model", "nothing", "other-kind"]
    assert answers["good"].embed.embeddings[0].float_values
    errors = {cid: (a.error.code, a.error.reason) for cid, a in answers.items() if a.WhichOneof("result") == "error"}
    assert errors == {
        "nothing": (grpc.StatusCode.INVALID_ARGUMENT.value[0], "INVALID_URL"),
        "other-kind": (grpc.StatusCode.INVALID_ARGUMENT.value[0], "INVALID_URL"),
        "empty-input": (grpc.StatusCode.INVALID_ARGUMENT.value[0], _live_error(channel, lines[3])[1]),
        "no-model": (grpc.StatusCode.NOT_FOUND.value[0], _live_error(channel, lines[6])[1]),
    }
    assert answers["no-model"].error.message == _live_error(channel, lines[6])[0]


def _live_error(channel: grpc.Channel, line: batch_pb2.SubmitBatchRequest) -> tuple[str, str]:
    """The live Embed call's message and ErrorInfo reason for the same request."""
    with pytest.raises(grpc.RpcError) as caught:
        embed_pb2_grpc.EmbedServiceStub(channel).Embed(line.embed, metadata=auth(KEY_A))
    _, status = rich_status(caught.value)
    return status.message, details_of(status)["ErrorInfo"].reason


def test_a_stream_with_no_request_is_refused(channel: grpc.Channel) -> None:
    for lines in ([], [S.SubmitBatchRequest(custom_id="x")]):
        with pytest.raises(grpc.RpcError) as caught:
            submit(channel, lines)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "no line with an embed or rerank request" in (caught.value.details() or "")


def test_a_job_over_the_file_limit_is_refused_and_nothing_kept(batch_rpc: RunningServer, channel: grpc.Channel) -> None:
    text = "word " * 200
    lines = [embed_line(f"big-{i}", text) for i in range(MAX_FILE_BYTES // len(text) + 10)]
    files = batch_rpc.settings.data_dir / "files"  # type: ignore[operator]
    before = sorted(files.iterdir())
    with pytest.raises(grpc.RpcError) as caught:
        submit(channel, lines)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert caught.value.details() == f"the file is over {MAX_FILE_BYTES} bytes (batch_max_file_bytes)"
    assert sorted(files.iterdir()) == before


def test_a_client_gone_mid_stream_leaves_no_file(batch_rpc: RunningServer, channel: grpc.Channel) -> None:
    files = batch_rpc.settings.data_dir / "files"  # type: ignore[operator]
    before = sorted(files.iterdir())
    sent, hold = threading.Event(), threading.Event()

    def lines() -> Iterator[batch_pb2.SubmitBatchRequest]:
        yield embed_line("first", "a text")
        sent.set()
        hold.wait(30)

    call = batch_pb2_grpc.BatchServiceStub(channel).SubmitBatch.future(lines(), metadata=auth(KEY_A))
    assert sent.wait(10)
    deadline = time.monotonic() + 10
    while len(list(files.iterdir())) == len(before):  # the upload has begun on the server
        assert time.monotonic() < deadline
        time.sleep(0.01)
    call.cancel()
    hold.set()
    while sorted(files.iterdir()) != before:
        assert time.monotonic() < deadline, "the partial upload was kept"
        time.sleep(0.01)


def test_cancel_stops_a_job_with_its_lines_so_far(channel: grpc.Channel) -> None:
    long_text = " ".join(["word"] * 300)
    lines = [embed_line(f"c{i}", long_text, long_text) for i in range(CANCEL_LINES)]
    created = submit(channel, lines)
    stub = batch_pb2_grpc.BatchServiceStub(channel)
    cancelling = stub.CancelBatch(S.CancelBatchRequest(batch_id=created.id), metadata=auth(KEY_A)).batch
    assert cancelling.status == S.BATCH_STATUS_CANCELLING
    done = watch(channel, created.id)[-1]
    assert done.status == S.BATCH_STATUS_CANCELLED and done.completed < len(lines)
    assert len(results(channel, created.id)) == done.completed + done.failed
    with pytest.raises(grpc.RpcError) as caught:
        stub.CancelBatch(S.CancelBatchRequest(batch_id=created.id), metadata=auth(KEY_A))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "cancelled" in (caught.value.details() or "")


def test_results_of_an_unfinished_job_are_refused(channel: grpc.Channel) -> None:
    long_text = " ".join(["late"] * 300)
    created = submit(channel, [embed_line(f"l{i}", long_text, long_text) for i in range(CANCEL_LINES)])
    stub = batch_pb2_grpc.BatchServiceStub(channel)
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.BatchResults(S.BatchResultsRequest(batch_id=created.id), metadata=auth(KEY_A)))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "results are read once it ends" in (caught.value.details() or "")
    stub.CancelBatch(S.CancelBatchRequest(batch_id=created.id), metadata=auth(KEY_A))
    assert watch(channel, created.id)[-1].status == S.BATCH_STATUS_CANCELLED


def test_another_key_sees_nothing(channel: grpc.Channel) -> None:
    created = submit(channel, [embed_line("mine", "a text")])
    stub = batch_pb2_grpc.BatchServiceStub(channel)
    calls = [
        lambda: stub.GetBatch(S.GetBatchRequest(batch_id=created.id), metadata=auth(KEY_B)),
        lambda: watch(channel, created.id, KEY_B),
        lambda: stub.CancelBatch(S.CancelBatchRequest(batch_id=created.id), metadata=auth(KEY_B)),
        lambda: results(channel, created.id, KEY_B),
    ]
    for call in calls:
        with pytest.raises(grpc.RpcError) as caught:
            call()
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        assert caught.value.details() == f"no batch {created.id!r}"
    assert watch(channel, created.id)[-1].status == S.BATCH_STATUS_COMPLETED  # its owner's, untouched
    with pytest.raises(grpc.RpcError) as caught:
        submit(channel, [embed_line("x", "y")], key="not-a-key")
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_jobs_are_listed_newest_first_for_their_key_only(channel: grpc.Channel) -> None:
    stub = batch_pb2_grpc.BatchServiceStub(channel)
    before = stub.ListBatches(S.ListBatchesRequest(page_size=100), metadata=auth(KEY_B)).batches
    ids = [submit(channel, [embed_line("one", f"listed {i}")], key=KEY_B).id for i in range(3)]

    first = stub.ListBatches(S.ListBatchesRequest(page_size=2), metadata=auth(KEY_B))
    assert [b.id for b in first.batches] == ids[:0:-1] and first.next_page_token == ids[1]
    rest = stub.ListBatches(S.ListBatchesRequest(page_size=2, page_token=first.next_page_token), metadata=auth(KEY_B))
    assert [b.id for b in rest.batches] == [ids[0], *[b.id for b in before]][:2]
    everything = stub.ListBatches(S.ListBatchesRequest(), metadata=auth(KEY_B))
    assert [b.id for b in everything.batches] == [*ids[::-1], *[b.id for b in before]][:20]
    assert not set(ids) & {b.id for b in stub.ListBatches(S.ListBatchesRequest(page_size=100), metadata=auth(KEY_A)).batches}

    with pytest.raises(grpc.RpcError) as caught:
        stub.ListBatches(S.ListBatchesRequest(page_size=101), metadata=auth(KEY_B))
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and status.message == "a page holds 1 to 100 jobs"
    assert [v.field for v in details_of(status)["BadRequest"].field_violations] == ["page_size"]


def test_served_with_health_and_reflection(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="embedroute.v1.BatchService"))
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    database = ProtoReflectionDescriptorDatabase(channel)
    assert "embedroute.v1.BatchService" in set(database.get_services())
    service = DescriptorPool(database).FindServiceByName("embedroute.v1.BatchService")
    assert [(m.name, m.client_streaming, m.server_streaming) for m in service.methods] == [
        ("SubmitBatch", True, False), ("GetBatch", False, False), ("ListBatches", False, False),
        ("WatchBatch", False, True),
        ("CancelBatch", False, False), ("BatchResults", False, True),
    ]


def test_without_a_data_dir_there_is_no_batch_service(channel_plain: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        batch_pb2_grpc.BatchServiceStub(channel_plain).GetBatch(S.GetBatchRequest(batch_id="batch_x"))
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_the_same_jobs_as_the_http_batch_api(batch_rpc: RunningServer, channel: grpc.Channel) -> None:
    """A gRPC job's files are the HTTP front's (its key's only); an HTTP job may name the Embed method
    path, with protobuf-JSON bodies, and is then read by BatchResults."""
    created = submit(channel, [embed_line("g1", "a text")])
    done = watch(channel, created.id)[-1]
    headers = {"authorization": f"Bearer {KEY_A}"}
    with httpx.Client(base_url=batch_rpc.http_url, timeout=30) as http:
        seen = http.get(f"/v1/batches/{created.id}", headers=headers).json()
        assert (seen["status"], seen["request_counts"]["completed"]) == ("completed", 1)
        assert seen["endpoint"] == "/embedroute.v1.EmbedService/Embed" and seen["output_file_id"] == done.output_file_id
        [line] = http.get(f"/v1/files/{done.output_file_id}/content", headers=headers).text.splitlines()
        assert json.loads(line)["custom_id"] == "g1"
        assert http.get(f"/v1/batches/{created.id}", headers={"authorization": f"Bearer {KEY_B}"}).status_code == 404

        body = json_format.MessageToDict(embed_line("h1", "a text").embed)
        raw = json.dumps({"custom_id": "h1", "method": "POST", "url": "/embedroute.v1.EmbedService/Embed", "body": body})
        uploaded = http.post("/v1/files", headers=headers, data={"purpose": "batch"},
                             files={"file": ("in.jsonl", raw.encode() + b"\n")}).json()
        job = http.post("/v1/batches", headers=headers, json={
            "input_file_id": uploaded["id"], "endpoint": "/embedroute.v1.EmbedService/Embed",
            "completion_window": "24h"}).json()
    assert watch(channel, job["id"])[-1].status == S.BATCH_STATUS_COMPLETED
    grpc_answer, http_answer = results(channel, created.id)["g1"], results(channel, job["id"])["h1"]
    assert untimed(http_answer.embed) == untimed(grpc_answer.embed)


def test_an_http_job_with_an_openai_endpoint_is_read_over_http(batch_rpc: RunningServer, channel: grpc.Channel) -> None:
    headers = {"authorization": f"Bearer {KEY_A}"}
    line = b'{"custom_id": "o1", "method": "POST", "url": "/v1/embeddings", "body": {"input": "x"}}\n'
    with httpx.Client(base_url=batch_rpc.http_url, timeout=30) as http:
        uploaded = http.post("/v1/files", headers=headers, data={"purpose": "batch"}, files={"file": ("o.jsonl", line)}).json()
        job = http.post("/v1/batches", headers=headers, json={
            "input_file_id": uploaded["id"], "endpoint": "/v1/embeddings", "completion_window": "24h"}).json()
    watch(channel, job["id"])
    with pytest.raises(grpc.RpcError) as caught:
        results(channel, job["id"])
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "was created over HTTP (/v1/embeddings)" in (caught.value.details() or "")
