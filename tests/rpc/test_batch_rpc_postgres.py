"""BatchService on the fleet store (jobs_store = a real PostgreSQL): a job submitted as a stream, watched
to its end, its results equal to the live Embed; a stream over the file limit leaves no piece behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import psycopg
import pytest

from router import ModelPlan
from service.batch.postgres import PIECE_BYTES
from service.rpc.generated.embedroute.v1 import batch_pb2 as S
from service.rpc.generated.embedroute.v1 import embed_pb2_grpc
from tests.http.postgres_support import PostgresServer, postgres
from tests.rpc.harness import RunningServer, server_settings
from tests.rpc.test_batch_rpc import KEY_A, auth, embed_line, results, submit, untimed, watch

__all__ = ["postgres"]  # the session's PostgreSQL fixture

MAX_FILE_BYTES = 600 * 1024
"""Over two pieces: a refused stream has stored some before it is refused."""
TEXTS = [f"passage {i} on a shared store" for i in range(9)]


@pytest.fixture(scope="module")
def pg_rpc(models_dir: Path, plans: list[ModelPlan], postgres: PostgresServer) -> Iterator[RunningServer]:
    settings = server_settings(models_dir, jobs_store=postgres.database(), api_keys=[KEY_A], batch_chunk_lines=4,
                               batch_max_file_bytes=MAX_FILE_BYTES, cache="off")
    server = RunningServer(settings, plans).load()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def channel(pg_rpc: RunningServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(pg_rpc.target) as ch:
        yield ch


def test_a_job_on_postgres_answers_as_the_live_embed(channel: grpc.Channel) -> None:
    lines = [embed_line(f"req-{i}", text) for i, text in enumerate(TEXTS)]
    created = submit(channel, lines)
    seen = watch(channel, created.id)
    assert seen[-1].status == S.BATCH_STATUS_COMPLETED
    assert (seen[-1].total, seen[-1].completed, seen[-1].failed) == (9, 9, 0)
    answers = results(channel, created.id)
    live = embed_pb2_grpc.EmbedServiceStub(channel)
    assert sorted(answers) == sorted(line.custom_id for line in lines)
    for line in lines:
        assert untimed(answers[line.custom_id].embed) == untimed(live.Embed(line.embed, metadata=auth(KEY_A)))


def test_a_stream_over_the_file_limit_leaves_no_piece(pg_rpc: RunningServer, channel: grpc.Channel) -> None:
    text = "word " * 200
    lines = [embed_line(f"big-{i}", text) for i in range(MAX_FILE_BYTES // len(text) + 10)]
    assert MAX_FILE_BYTES > 2 * PIECE_BYTES
    with psycopg.connect(pg_rpc.settings.jobs_store) as db:
        before = db.execute("SELECT COUNT(*) FROM pieces").fetchone()
    with pytest.raises(grpc.RpcError) as caught:
        submit(channel, lines)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    with psycopg.connect(pg_rpc.settings.jobs_store) as db:
        assert db.execute("SELECT COUNT(*) FROM pieces").fetchone() == before
