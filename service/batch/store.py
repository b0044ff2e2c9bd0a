"""The jobs' embedded store: one SQLite file (WAL, fsync on commit) under `data_dir`.

Synchronous and single-owner: `service.batch.jobs` calls it from one thread of its own, so the event
loop never waits on a commit's fsync. A job's progress is one row, updated in the same transaction
as its counts, so a restart finds the counts and the resume point agreeing.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import astuple, fields
from pathlib import Path
from typing import Any

from service.batch.records import FINAL, RUNNABLE, BatchRecord, FileRecord, LineError, Progress, Status

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
    next_line INTEGER NOT NULL DEFAULT 0, input_offset INTEGER NOT NULL DEFAULT 0,
    output_bytes INTEGER NOT NULL DEFAULT 0, error_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS line_errors (
    batch_id TEXT NOT NULL, line INTEGER NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL, param TEXT,
    PRIMARY KEY (batch_id, line)
);
"""

_BATCH_COLUMNS = [f.name for f in fields(BatchRecord) if f.name != "errors"]
_TIMESTAMP: dict[Status, str] = {
    "in_progress": "in_progress_at", "finalizing": "finalizing_at", "completed": "completed_at",
    "failed": "failed_at", "expired": "expired_at", "cancelling": "cancelling_at", "cancelled": "cancelled_at",
}
MAX_ERRORS_SHOWN = 1000
"""Line errors a job's object lists; the rest are counted in the store but not repeated."""


class Store:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # --- files ---------------------------------------------------------------------

    def add_file(self, record: FileRecord) -> None:
        with self._tx():
            self._db.execute("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?)", astuple(record))

    def file(self, file_id: str) -> FileRecord | None:
        row = self._db.execute("SELECT * FROM files WHERE id = ?", (file_id,)).fetchone()
        return FileRecord(*row) if row else None

    def stored_bytes(self) -> int:
        """What every stored file takes, inputs and finished results."""
        total: int = self._db.execute("SELECT COALESCE(SUM(bytes), 0) FROM files").fetchone()[0]
        return total

    def stale_files(self, before: int) -> list[FileRecord]:
        """Files made before `before` that no unfinished job reads."""
        marks = ", ".join("?" * len(RUNNABLE))
        rows = self._db.execute(
            f"SELECT * FROM files WHERE created_at < ? AND id NOT IN "
            f"(SELECT input_file_id FROM batches WHERE status IN ({marks}))",
            [before, *sorted(RUNNABLE)],
        ).fetchall()
        return [FileRecord(*row) for row in rows]

    def delete_file(self, file_id: str) -> None:
        with self._tx():
            self._db.execute("DELETE FROM files WHERE id = ?", (file_id,))

    # --- jobs ----------------------------------------------------------------------

    def add_batch(self, record: BatchRecord) -> None:
        values = [json.dumps(v) if name == "metadata" and v is not None else v
                  for name, v in ((n, getattr(record, n)) for n in _BATCH_COLUMNS)]
        marks = ", ".join("?" * len(_BATCH_COLUMNS))
        with self._tx():
            self._db.execute(f"INSERT INTO batches ({', '.join(_BATCH_COLUMNS)}) VALUES ({marks})", values)

    def batch(self, batch_id: str) -> BatchRecord | None:
        row = self._db.execute(f"SELECT {', '.join(_BATCH_COLUMNS)} FROM batches WHERE id = ?", (batch_id,)).fetchone()
        return self._record(row) if row else None

    def status(self, batch_id: str) -> Status:
        """The job's status alone: what the runner reads between chunks."""
        status: Status = self._db.execute("SELECT status FROM batches WHERE id = ?", (batch_id,)).fetchone()[0]
        return status

    def expires_at(self, batch_id: str) -> int:
        expires: int = self._db.execute("SELECT expires_at FROM batches WHERE id = ?", (batch_id,)).fetchone()[0]
        return expires

    def batches(self, tenant: str, after: str | None, limit: int) -> tuple[list[BatchRecord], bool]:
        """The tenant's jobs, newest first, after the job `after` (whose id a page ended with); and
        whether more follow."""
        cursor = "AND seq < (SELECT seq FROM batches WHERE id = ? AND tenant = ?)" if after else ""
        params: list[Any] = [tenant, *([after, tenant] if after else []), limit + 1]
        rows = self._db.execute(
            f"SELECT {', '.join(_BATCH_COLUMNS)} FROM batches WHERE tenant = ? {cursor} ORDER BY seq DESC LIMIT ?",
            params,
        ).fetchall()
        return [self._record(row) for row in rows[:limit]], len(rows) > limit

    def unfinished(self, tenant: str) -> int:
        """The tenant's jobs not yet in a final status."""
        marks = ", ".join("?" * len(RUNNABLE))
        count: int = self._db.execute(
            f"SELECT COUNT(*) FROM batches WHERE tenant = ? AND status IN ({marks})", [tenant, *sorted(RUNNABLE)]
        ).fetchone()[0]
        return count

    def runnable(self) -> list[str]:
        """Jobs the runner still owes work, oldest first."""
        marks = ", ".join("?" * len(RUNNABLE))
        rows = self._db.execute(f"SELECT id FROM batches WHERE status IN ({marks}) ORDER BY seq", sorted(RUNNABLE))
        return [row[0] for row in rows]

    def move(self, batch_id: str, status: Status, at: int, unless: frozenset[Status] = FINAL) -> bool:
        """Sets the job's status and that status's timestamp, unless it is in one of `unless`."""
        marks = ", ".join("?" * len(unless))
        column = _TIMESTAMP[status]
        with self._tx():
            changed = self._db.execute(
                f"UPDATE batches SET status = ?, {column} = ? WHERE id = ? AND status NOT IN ({marks})",
                [status, at, batch_id, *sorted(unless)],
            ).rowcount
        return changed == 1

    def validated(self, batch_id: str, total: int, errors: list[LineError], at: int) -> None:
        """The input file's lines counted and its bad lines recorded: the job is in progress."""
        with self._tx():
            self._db.executemany(
                "INSERT OR REPLACE INTO line_errors VALUES (?, ?, ?, ?, ?)",
                [(batch_id, e.line, e.code, e.message, e.param) for e in errors],
            )
            self._db.execute(
                "UPDATE batches SET total = ?, status = 'in_progress', in_progress_at = ? "
                "WHERE id = ? AND status = 'validating'",
                (total, at, batch_id),
            )

    def fail(self, batch_id: str, errors: list[LineError], at: int) -> None:
        with self._tx():
            self._db.executemany(
                "INSERT OR REPLACE INTO line_errors VALUES (?, ?, ?, ?, ?)",
                [(batch_id, e.line, e.code, e.message, e.param) for e in errors],
            )
            self._db.execute("UPDATE batches SET status = 'failed', failed_at = ? WHERE id = ?", (at, batch_id))

    def skipped_lines(self, batch_id: str) -> frozenset[int]:
        """The 1-based lines validation found naming no request to answer."""
        rows = self._db.execute("SELECT line FROM line_errors WHERE batch_id = ?", (batch_id,))
        return frozenset(row[0] for row in rows)

    def progress(self, batch_id: str) -> Progress:
        row = self._db.execute(
            "SELECT next_line, input_offset, output_bytes, error_bytes FROM batches WHERE id = ?", (batch_id,)
        ).fetchone()
        return Progress(*row)

    def commit_chunk(self, batch_id: str, progress: Progress, completed: int, failed: int) -> None:
        """A chunk's answers are on disk (fsynced): move the resume point past them, with the counts."""
        with self._tx():
            self._db.execute(
                "UPDATE batches SET next_line = ?, input_offset = ?, output_bytes = ?, error_bytes = ?, "
                "completed = completed + ?, failed = failed + ? WHERE id = ?",
                (progress.next_line, progress.input_offset, progress.output_bytes, progress.error_bytes,
                 completed, failed, batch_id),
            )

    def finish(
        self, batch_id: str, status: Status, output: FileRecord | None, error: FileRecord | None, at: int
    ) -> None:
        """The job's result files become files its owner can read, and the job reaches `status`."""
        with self._tx():
            for record in (output, error):
                if record is not None:
                    self._db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)", astuple(record))
            self._db.execute(
                f"UPDATE batches SET status = ?, {_TIMESTAMP[status]} = ?, output_file_id = ?, error_file_id = ? "
                "WHERE id = ?",
                (status, at, output and output.id, error and error.id, batch_id),
            )

    def _record(self, row: tuple[Any, ...]) -> BatchRecord:
        values = dict(zip(_BATCH_COLUMNS, row, strict=True))
        if values["metadata"] is not None:
            values["metadata"] = json.loads(values["metadata"])
        rows = self._db.execute(
            "SELECT code, message, line, param FROM line_errors WHERE batch_id = ? ORDER BY line LIMIT ?",
            (values["id"], MAX_ERRORS_SHOWN),
        )
        return BatchRecord(**values, errors=[LineError(*r) for r in rows])

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


__all__ = ["MAX_ERRORS_SHOWN", "Store"]
