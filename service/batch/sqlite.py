"""The embedded store: one SQLite file (WAL, fsync on commit) and the files themselves under `data_dir`.

One server owns it (service.batch.lock), so its transactions are serial (BEGIN IMMEDIATE) and a chunk
a dead server had claimed is free again as soon as the next one starts (`recover`). A job's result
files are appended a chunk at a time, in order, and fsynced inside the transaction that marks the
chunk done; each append first cuts the file back to its committed size, so bytes a crash left between
a write and its commit are overwritten, never kept.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from service.batch.records import RUNNABLE
from service.batch.store import BlobWriter, Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, purpose TEXT NOT NULL, filename TEXT NOT NULL,
    bytes INTEGER NOT NULL, created_at INTEGER NOT NULL, blob TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, tenant TEXT NOT NULL,
    endpoint TEXT NOT NULL, input_file_id TEXT NOT NULL, completion_window TEXT NOT NULL,
    status TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, metadata TEXT,
    in_progress_at INTEGER, finalizing_at INTEGER, completed_at INTEGER, failed_at INTEGER,
    expired_at INTEGER, cancelling_at INTEGER, cancelled_at INTEGER,
    total INTEGER NOT NULL, completed INTEGER NOT NULL, failed INTEGER NOT NULL,
    output_file_id TEXT, error_file_id TEXT,
    output_bytes INTEGER NOT NULL DEFAULT 0, error_bytes INTEGER NOT NULL DEFAULT 0,
    owner TEXT, lease_until REAL
);
CREATE TABLE IF NOT EXISTS line_errors (
    batch_id TEXT NOT NULL, line INTEGER NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL, param TEXT,
    PRIMARY KEY (batch_id, line)
);
CREATE TABLE IF NOT EXISTS chunks (
    batch_id TEXT NOT NULL, seq INTEGER NOT NULL, first_line INTEGER NOT NULL, byte_offset INTEGER NOT NULL,
    done INTEGER NOT NULL, owner TEXT, lease_until REAL, claims INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (batch_id, seq)
);
"""

READ_BYTES = 256 * 1024


class SqliteStore(Store):
    clock = "((julianday('now') - 2440587.5) * 86400.0)"
    def __init__(self, path: Path, files: Path) -> None:
        self._files = files
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        if "owner" not in {row[1] for row in self._db.execute("PRAGMA table_info(batches)")}:
            self._upgrade()

    def _upgrade(self) -> None:
        """A data_dir of the layout before chunks (one resume point per job): the claim columns are added,
        and a job that was in progress is validated and run again from its first line, its result files
        written anew - nothing of the old layout's progress is trusted, so no line is lost or doubled."""
        with self._tx():
            self._x("ALTER TABLE batches ADD COLUMN owner TEXT")
            self._x("ALTER TABLE batches ADD COLUMN lease_until REAL")
            self._x("DELETE FROM line_errors WHERE batch_id IN (SELECT id FROM batches WHERE status = 'in_progress')")
            self._x("UPDATE batches SET status = 'validating', total = 0, completed = 0, failed = 0, output_bytes = 0, "
                    "error_bytes = 0 WHERE status = 'in_progress'")

    def _x(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return self._db.execute(sql, tuple(params))

    def _many(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        self._db.executemany(sql, (tuple(r) for r in rows))

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    def recover(self) -> None:
        with self._tx():
            self._x("UPDATE chunks SET owner = NULL, lease_until = NULL WHERE done = 0")
            self._x("UPDATE batches SET owner = NULL, lease_until = NULL WHERE status = 'validating'")

    # --- file bytes: files under the files folder ------------------------------------

    def blob_writer(self, blob: str) -> BlobWriter:
        return _FileWriter(self._files / blob)

    def open_blob(self, blob: str, offset: int) -> BinaryIO:
        stream = open(self._files / blob, "rb")  # the caller closes it
        stream.seek(offset)
        return stream

    def read_piece(self, blob: str, cursor: int) -> tuple[bytes, int] | None:
        with open(self._files / blob, "rb") as stream:
            stream.seek(cursor)
            piece = stream.read(READ_BYTES)
        return (piece, cursor + len(piece)) if piece else None

    def delete_blob(self, blob: str) -> None:
        (self._files / blob).unlink(missing_ok=True)

    def _result_blob(self, batch_id: str, kind: str) -> str:
        return f"{batch_id}.{kind}.jsonl"

    def purge_orphans(self, before: int) -> None:
        marks = ", ".join("?" * len(RUNNABLE))
        for path in self._files.iterdir():
            if path.stat().st_mtime >= before:
                continue
            owned = self._x(f"SELECT 1 FROM files WHERE blob = ? UNION ALL SELECT 1 FROM batches WHERE id = ? "
                            f"AND status IN ({marks})", [path.name, path.name.split(".")[0], *sorted(RUNNABLE)])
            if owned.fetchone() is None:
                path.unlink(missing_ok=True)

    def _put_results(self, batch_id: str, chunk: int, sizes: tuple[int, int], output: bytes, error: bytes) -> None:
        for kind, size, data in (("output", sizes[0], output), ("error", sizes[1], error)):
            path = self._files / self._result_blob(batch_id, kind)
            with open(path, "r+b" if path.exists() else "w+b") as f:
                f.truncate(size)
                f.seek(size)
                f.write(data)
                f.flush()
                os.fsync(f.fileno())


class _FileWriter(BlobWriter):
    def __init__(self, path: Path) -> None:
        self._path = path
        self._stream = open(path, "xb")  # closed by keep or discard

    def write(self, piece: bytes) -> None:
        self._stream.write(piece)

    def keep(self) -> None:
        self._stream.flush()
        os.fsync(self._stream.fileno())
        self._stream.close()

    def discard(self) -> None:
        self._stream.close()
        self._path.unlink(missing_ok=True)


__all__ = ["SqliteStore"]
