"""Bytes an upload cut off by a crash left behind (no file row) are purged once a day old, on both stores;
fresh ones (an upload may still be under way) and a file's own bytes stay."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import psycopg
import pytest

from router import ModelPlan
from service.batch.postgres import PostgresStore
from service.batch.sqlite import SqliteStore
from tests.hardening.conftest import free_port
from tests.http.batch_support import sdk
from tests.http.postgres_support import PostgresServer, postgres
from tests.rpc.harness import RunningServer, server_settings

__all__ = ["postgres"]  # the session's PostgreSQL fixture

DAYS_AGO = int(time.time()) - 2 * 24 * 3600
KEPT = b'{"custom_id": "kept"}\n'


def _plant_files(data: Path) -> None:
    files = data / "files"
    files.mkdir(parents=True)
    for name, content, old in (("file-orphan", b"cut off", True), ("file-fresh", b"still coming", False),
                               ("file-kept", KEPT, True)):
        (files / name).write_bytes(content)
        if old:
            os.utime(files / name, (DAYS_AGO, DAYS_AGO))
    SqliteStore(data / "jobs.sqlite3", files).close()  # makes the tables
    with sqlite3.connect(data / "jobs.sqlite3") as db:
        db.execute("INSERT INTO files VALUES ('file-kept', '', 'batch', 'k.jsonl', ?, ?, 'file-kept')",
                   (len(KEPT), DAYS_AGO))


def _plant_pieces(url: str) -> None:
    PostgresStore(url).close()  # makes the tables
    with psycopg.connect(url) as db:
        db.execute("INSERT INTO pieces VALUES ('file-orphan', 0, 'cut off', %s), ('file-kept', 0, %s, %s)",
                   (DAYS_AGO, KEPT, DAYS_AGO))
        db.execute("INSERT INTO pieces (blob, seq, data) VALUES ('file-fresh', 0, 'still coming')")
        db.execute("INSERT INTO files VALUES ('file-kept', '', 'batch', 'k.jsonl', %s, %s, 'file-kept')",
                   (len(KEPT), DAYS_AGO))


def _left(served: RunningServer) -> set[str]:
    if served.settings.jobs_store:
        with psycopg.connect(served.settings.jobs_store) as db:
            return {row[0] for row in db.execute("SELECT blob FROM pieces")}
    return {p.name for p in (served.settings.data_dir / "files").iterdir()}  # type: ignore[operator]


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_orphaned_bytes_are_purged_and_the_rest_kept(store: str, request: pytest.FixtureRequest, tmp_path: Path,
                                                    models_dir: Path, http_plans: list[ModelPlan]) -> None:
    if store == "sqlite":
        where: dict[str, object] = {"data_dir": tmp_path / "data"}
        _plant_files(tmp_path / "data")
    else:
        postgres: PostgresServer = request.getfixturevalue("postgres")
        where = {"jobs_store": postgres.database()}
        _plant_pieces(str(where["jobs_store"]))
    served = RunningServer(server_settings(models_dir, http_port=free_port(), cache="off", **where), http_plans)
    try:
        served.load()
        deadline = time.monotonic() + 30
        while "file-orphan" in _left(served):
            assert time.monotonic() < deadline, "the orphan outlived its day"
            time.sleep(0.1)
        assert _left(served) == {"file-fresh", "file-kept"}
        assert sdk(served, "anything").files.content("file-kept").content == KEPT
    finally:
        served.stop()
