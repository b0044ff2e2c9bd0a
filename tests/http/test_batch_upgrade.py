"""A data_dir written by the store before chunks (one resume point per job) still works: a server started
on it finishes the job that was in progress - run again from its first line, since the old resume point
is not trusted - with every custom_id answered exactly once, and keeps the finished job's files."""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from router import ModelPlan
from tests.hardening.conftest import free_port
from tests.http.batch_support import embed_line, jsonl, read_lines, sdk, wait_final
from tests.rpc.harness import RunningServer, server_settings

OLD_SCHEMA = """
CREATE TABLE files (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, purpose TEXT NOT NULL, filename TEXT NOT NULL,
    bytes INTEGER NOT NULL, created_at INTEGER NOT NULL, blob TEXT NOT NULL
);
CREATE TABLE batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, tenant TEXT NOT NULL,
    endpoint TEXT NOT NULL, input_file_id TEXT NOT NULL, completion_window TEXT NOT NULL,
    status TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, metadata TEXT,
    in_progress_at INTEGER, finalizing_at INTEGER, completed_at INTEGER, failed_at INTEGER,
    expired_at INTEGER, cancelling_at INTEGER, cancelled_at INTEGER,
    total INTEGER NOT NULL, completed INTEGER NOT NULL, failed INTEGER NOT NULL,
    output_file_id TEXT, error_file_id TEXT,
    next_line INTEGER NOT NULL DEFAULT 0, input_offset INTEGER NOT NULL DEFAULT 0,
    output_bytes INTEGER NOT NULL DEFAULT 0, error_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE line_errors (
    batch_id TEXT NOT NULL, line INTEGER NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL, param TEXT,
    PRIMARY KEY (batch_id, line)
);
"""
"""service/batch/store.py's schema before chunks and claims."""
N_LINES = 20


@pytest.fixture()
def old_data_dir(tmp_path: Path) -> Iterator[Path]:
    """An in-progress job 8 lines in (plus half a line written after its last commit), with a bad line 3,
    and a finished job with its output file."""
    data = tmp_path / "data"
    (data / "files").mkdir(parents=True)
    lines: list[Any] = [embed_line(f"up-{i}", f"text {i}") for i in range(N_LINES)]
    lines[2] = "not json"
    content = jsonl(lines)
    (data / "files" / "file-in").write_bytes(content)
    done_line = json.dumps({"id": "batch_req_x", "custom_id": "old", "response": {"status_code": 200}, "error": None})
    (data / "files" / "batch_old.output.jsonl").write_bytes(done_line.encode() + b"\n")
    answered = b"".join(json.dumps({"custom_id": f"up-{i}"}).encode() + b"\n" for i in (0, 1, 3, 4, 5, 6, 7))
    (data / "files" / "batch_run.output.jsonl").write_bytes(answered + b'{"custom_id": "up-8"')
    offset = sum(len(line) for line in content.splitlines(keepends=True)[:8])
    now = int(time.time())
    with sqlite3.connect(data / "jobs.sqlite3") as db:
        db.executescript(OLD_SCHEMA)
        db.execute("INSERT INTO files VALUES ('file-in', '', 'batch', 'in.jsonl', ?, ?, 'file-in')", (len(content), now))
        db.execute("INSERT INTO files VALUES ('file-out', '', 'batch_output', 'o.jsonl', ?, ?, 'batch_old.output.jsonl')",
                   (len(done_line) + 1, now))
        db.execute("INSERT INTO batches (id, tenant, endpoint, input_file_id, completion_window, status, created_at, "
                   "expires_at, completed_at, total, completed, failed, output_file_id) VALUES "
                   "('batch_old', '', '/v1/embeddings', 'file-in', '24h', 'completed', ?, ?, ?, 1, 1, 0, 'file-out')",
                   (now, now + 86400, now))
        db.execute("INSERT INTO batches (id, tenant, endpoint, input_file_id, completion_window, status, created_at, "
                   "expires_at, in_progress_at, total, completed, failed, next_line, input_offset, output_bytes) VALUES "
                   "('batch_run', '', '/v1/embeddings', 'file-in', '24h', 'in_progress', ?, ?, ?, ?, 7, 0, 8, ?, ?)",
                   (now, now + 86400, now, N_LINES - 1, offset, len(answered)))
        db.execute("INSERT INTO line_errors VALUES ('batch_run', 3, 'invalid_json_line', 'line 3 is not JSON', NULL)")
    yield data


def test_a_job_of_the_old_layout_finishes_once(old_data_dir: Path, models_dir: Path, http_plans: list[ModelPlan]) -> None:
    settings = server_settings(models_dir, http_port=free_port(), data_dir=old_data_dir, batch_chunk_lines=4, cache="off")
    server = RunningServer(settings, http_plans).load()
    try:
        client = sdk(server, "anything")
        done = wait_final(client, "batch_run")
        out = read_lines(client, done.output_file_id)
        old = client.batches.retrieve("batch_old")
        old_out = read_lines(client, old.output_file_id)
    finally:
        server.stop()
    assert done.status == "completed" and done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (19, 19, 0)
    assert Counter(o["custom_id"] for o in out) == Counter(f"up-{i}" for i in range(N_LINES) if i != 2)
    assert all(o["response"]["status_code"] == 200 for o in out)
    assert [(e.code, e.line) for e in done.errors.data] == [("invalid_json_line", 3)]  # type: ignore[union-attr]
    assert (old.status, [o["custom_id"] for o in old_out]) == ("completed", ["old"])
