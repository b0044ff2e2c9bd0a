"""The jobs' store: one interface, two implementations, chosen by `jobs_store`.

    SqliteStore (service.batch.sqlite)      embedded: an SQLite file and the files under `data_dir`, one server
    PostgresStore (service.batch.postgres)  a fleet: rows and file pieces in PostgreSQL, any number of replicas

The SQL that records files, jobs, their chunks and counts is written once, here; an implementation
gives its connection, its transactions and where file bytes live (`Blobs`). A job's input is cut into
chunks when it is validated; a runner claims a chunk with a lease (renewed while it works, so a dead
runner's chunk is claimed again once the lease runs out), and a chunk's answers, its done mark and the
job's counts commit in one transaction that also checks the chunk was not done already and the job is
still running: each custom_id is answered once in the results, whoever dies when.

Synchronous: `service.batch.jobs` calls it from one thread of its own, so the event loop never waits on
a commit. Only the readers a store opens (`open_blob`) may be used from another thread.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import astuple, fields
from typing import Any, BinaryIO, Literal

from service.core.errors import UnavailableError
from service.batch.records import (
    FINAL,
    OUTPUT_PURPOSE,
    RUNNABLE,
    BatchRecord,
    Chunk,
    FileRecord,
    LineError,
    Status,
    new_id,
)

_BATCH_COLUMNS = [f.name for f in fields(BatchRecord) if f.name != "errors"]
_TIMESTAMP: dict[Status, str] = {
    "in_progress": "in_progress_at", "finalizing": "finalizing_at", "completed": "completed_at",
    "failed": "failed_at", "expired": "expired_at", "cancelling": "cancelling_at", "cancelled": "cancelled_at",
}
MAX_ERRORS_SHOWN = 1000
"""Line errors a job's object lists; the rest are counted in the store but not repeated."""
Order = Literal["asc", "desc"]


class StoreUnavailableError(UnavailableError):
    """The store cannot be reached now (a shared database restarting, a network cut): a call is answered
    503 / UNAVAILABLE, a job waits - it is not failed - and the next use connects again."""

    reason = "JOBS_STORE_UNAVAILABLE"


class BlobWriter(ABC):
    """A file's bytes being stored, piece by piece; `keep` makes them durable, `discard` drops them."""

    @abstractmethod
    def write(self, piece: bytes) -> None: ...

    @abstractmethod
    def keep(self) -> None: ...

    @abstractmethod
    def discard(self) -> None: ...


class Store(ABC):
    lock_row = ""
    """What makes a SELECT hold the rows it read until the transaction ends (none where transactions
    are serial anyway)."""
    skip_locked = ""
    """What makes a SELECT pass over rows another transaction holds."""
    shared = False
    """Other servers share this store: look for work now and then, not only when woken."""
    clock = ""
    """SQL for the database's time in Unix seconds: leases are stamped and compared by one clock, not by
    each server's own."""

    # --- what an implementation gives ----------------------------------------------

    @abstractmethod
    def _x(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """Runs one statement (`?` placeholders); a cursor with fetchone, fetchall and rowcount."""

    @abstractmethod
    def _many(self, sql: str, rows: Iterable[Iterable[Any]]) -> None: ...

    @abstractmethod
    def _tx(self) -> AbstractContextManager[None]:
        """One transaction: committed when the block ends, rolled back when it raises."""

    def _lock_tenant(self, tenant: str) -> None:
        """Holds the tenant's jobs until the transaction ends: counting them and adding one is then one
        step. Nothing to do where transactions are serial anyway (SQLite's BEGIN IMMEDIATE)."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def blob_writer(self, blob: str) -> BlobWriter: ...

    @abstractmethod
    def open_blob(self, blob: str, offset: int) -> BinaryIO:
        """An input file's bytes from `offset`, read as they are needed (any thread; close it)."""

    @abstractmethod
    def read_piece(self, blob: str, cursor: int) -> tuple[bytes, int] | None:
        """The file's piece at `cursor` (0 first) and the cursor of the next; None after the last."""

    @abstractmethod
    def delete_blob(self, blob: str) -> None: ...

    @abstractmethod
    def _result_blob(self, batch_id: str, kind: str) -> str:
        """Where a job's output or error file lives."""

    @abstractmethod
    def _put_results(self, batch_id: str, chunk: int, sizes: tuple[int, int], output: bytes, error: bytes) -> None:
        """Stores a chunk's answers, inside the transaction that marks it done (`sizes`: the result files'
        committed sizes before it)."""

    @abstractmethod
    def purge_orphans(self, before: int) -> None:
        """Deletes file bytes made before `before` that no file and no unfinished job owns: what an upload
        cut off by a crash left (an upload that fails otherwise deletes its own)."""

    def recover(self) -> None:
        """At start: what a server that died left claimed (a single-server store frees it at once)."""

    # --- files ---------------------------------------------------------------------

    def add_file(self, record: FileRecord) -> None:
        with self._tx():
            self._x("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?)", astuple(record))

    def file(self, file_id: str) -> FileRecord | None:
        row = self._x("SELECT * FROM files WHERE id = ?", (file_id,)).fetchone()
        return FileRecord(*row) if row else None

    def files(self, tenant: str, purpose: str | None, after: str | None, limit: int, order: Order
              ) -> tuple[list[FileRecord], bool]:
        """The tenant's files by creation time, after the file `after`; and whether more follow."""
        sign, way = ("<", "DESC") if order == "desc" else (">", "ASC")
        where, params = ["tenant = ?"], [tenant]
        if purpose is not None:
            where.append("purpose = ?")
            params.append(purpose)
        if after is not None:
            where.append(f"(created_at, id) {sign} (SELECT created_at, id FROM files WHERE id = ? AND tenant = ?)")
            params += [after, tenant]
        rows = self._x(f"SELECT * FROM files WHERE {' AND '.join(where)} ORDER BY created_at {way}, id {way} LIMIT ?",
                       [*params, limit + 1]).fetchall()
        return [FileRecord(*row) for row in rows[:limit]], len(rows) > limit

    def stored_bytes(self) -> int:
        """What every stored file takes, inputs and finished results."""
        total: int = self._x("SELECT COALESCE(SUM(bytes), 0) FROM files").fetchone()[0]
        return int(total)

    def stale_files(self, before: int) -> list[FileRecord]:
        """Files made before `before` that no unfinished job reads."""
        marks = ", ".join("?" * len(RUNNABLE))
        rows = self._x(
            f"SELECT * FROM files WHERE created_at < ? AND id NOT IN "
            f"(SELECT input_file_id FROM batches WHERE status IN ({marks}))",
            [before, *sorted(RUNNABLE)],
        ).fetchall()
        return [FileRecord(*row) for row in rows]

    def delete_file(self, record: FileRecord) -> None:
        with self._tx():
            self._x("DELETE FROM files WHERE id = ?", (record.id,))
        self.delete_blob(record.blob)

    # --- jobs ----------------------------------------------------------------------

    def add_batch(self, record: BatchRecord, max_unfinished: int) -> int:
        """Adds the job unless its tenant has `max_unfinished` jobs not final already; the count it found.
        Counted and added in one transaction under the tenant's lock, so creates racing on one server or
        on several replicas cannot pass the limit together."""
        values = [json.dumps(v) if name == "metadata" and v is not None else v
                  for name, v in ((n, getattr(record, n)) for n in _BATCH_COLUMNS)]
        marks = ", ".join("?" * len(_BATCH_COLUMNS))
        with self._tx():
            self._lock_tenant(record.tenant)
            unfinished = self._unfinished(record.tenant)
            if unfinished < max_unfinished:
                self._x(f"INSERT INTO batches ({', '.join(_BATCH_COLUMNS)}) VALUES ({marks})", values)
        return unfinished

    def batch(self, batch_id: str) -> BatchRecord | None:
        row = self._x(f"SELECT {', '.join(_BATCH_COLUMNS)} FROM batches WHERE id = ?", (batch_id,)).fetchone()
        return self._record(row) if row else None

    def status(self, batch_id: str) -> Status:
        """The job's status alone: what the runner reads between chunks."""
        status: Status = self._x("SELECT status FROM batches WHERE id = ?", (batch_id,)).fetchone()[0]
        return status

    def expires_at(self, batch_id: str) -> int:
        expires: int = self._x("SELECT expires_at FROM batches WHERE id = ?", (batch_id,)).fetchone()[0]
        return expires

    def batches(self, tenant: str, after: str | None, limit: int) -> tuple[list[BatchRecord], bool]:
        """The tenant's jobs, newest first, after the job `after` (whose id a page ended with); and
        whether more follow."""
        cursor = "AND seq < (SELECT seq FROM batches WHERE id = ? AND tenant = ?)" if after else ""
        params: list[Any] = [tenant, *([after, tenant] if after else []), limit + 1]
        rows = self._x(
            f"SELECT {', '.join(_BATCH_COLUMNS)} FROM batches WHERE tenant = ? {cursor} ORDER BY seq DESC LIMIT ?",
            params,
        ).fetchall()
        return [self._record(row) for row in rows[:limit]], len(rows) > limit

    def _unfinished(self, tenant: str) -> int:
        """The tenant's jobs not yet in a final status."""
        marks = ", ".join("?" * len(RUNNABLE))
        count: int = self._x(
            f"SELECT COUNT(*) FROM batches WHERE tenant = ? AND status IN ({marks})", [tenant, *sorted(RUNNABLE)]
        ).fetchone()[0]
        return count

    def runnable(self) -> list[str]:
        """Jobs some runner still owes work, oldest first."""
        marks = ", ".join("?" * len(RUNNABLE))
        rows = self._x(f"SELECT id FROM batches WHERE status IN ({marks}) ORDER BY seq", sorted(RUNNABLE)).fetchall()
        return [row[0] for row in rows]

    def move(self, batch_id: str, status: Status, at: int, unless: frozenset[Status] = FINAL) -> bool:
        """Sets the job's status and that status's timestamp, unless it is in one of `unless`; whether it did
        (of several servers moving a job at once, one does)."""
        marks = ", ".join("?" * len(unless))
        column = _TIMESTAMP[status]
        with self._tx():
            changed: int = self._x(
                f"UPDATE batches SET status = ?, {column} = ? WHERE id = ? AND status NOT IN ({marks})",
                [status, at, batch_id, *sorted(unless)],
            ).rowcount
        return changed == 1

    def claim_validation(self, batch_id: str, owner: str, lease_s: float) -> bool:
        """The job's validation is this runner's until the lease ends (unless renewed)."""
        with self._tx():
            claimed: int = self._x(
                f"UPDATE batches SET owner = ?, lease_until = {self.clock} + ? WHERE id = ? AND status = 'validating' "
                f"AND (owner IS NULL OR owner = ? OR lease_until < {self.clock})",
                (owner, lease_s, batch_id, owner),
            ).rowcount
        return claimed == 1

    def renew_validation(self, batch_id: str, owner: str, lease_s: float) -> None:
        with self._tx():
            self._x(f"UPDATE batches SET lease_until = {self.clock} + ? WHERE id = ? AND owner = ?",
                    (lease_s, batch_id, owner))

    def validated(self, batch_id: str, total: int, errors: list[LineError], chunks: list[tuple[int, int]],
                  at: int) -> None:
        """The input file's lines counted, its bad lines recorded and its chunks ((first line, byte offset)
        each) laid out: the job is in progress. Only one validation of a job takes effect."""
        with self._tx():
            moved = self._x(
                "UPDATE batches SET total = ?, status = 'in_progress', in_progress_at = ?, owner = NULL "
                "WHERE id = ? AND status = 'validating'",
                (total, at, batch_id),
            ).rowcount
            if moved != 1:
                return
            self._many("INSERT INTO line_errors VALUES (?, ?, ?, ?, ?)",
                       [(batch_id, e.line, e.code, e.message, e.param) for e in errors])
            self._many("INSERT INTO chunks (batch_id, seq, first_line, byte_offset, done) VALUES (?, ?, ?, ?, 0)",
                       [(batch_id, seq, line, offset) for seq, (line, offset) in enumerate(chunks)])

    def fail(self, batch_id: str, errors: list[LineError], at: int) -> None:
        with self._tx():
            failed = self._x("UPDATE batches SET status = 'failed', failed_at = ? WHERE id = ? AND status = 'validating'",
                             (at, batch_id)).rowcount
            if failed == 1:
                self._many("INSERT INTO line_errors VALUES (?, ?, ?, ?, ?)",
                           [(batch_id, e.line, e.code, e.message, e.param) for e in errors])

    def break_job(self, batch_id: str, at: int) -> None:
        """A job its runner could not go on with (a bug): failed, whatever it was doing."""
        marks = ", ".join("?" * len(FINAL))
        with self._tx():
            self._x(f"UPDATE batches SET status = 'failed', failed_at = ? WHERE id = ? AND status NOT IN ({marks})",
                    [at, batch_id, *sorted(FINAL)])

    def skipped_lines(self, batch_id: str) -> frozenset[int]:
        """The 1-based lines validation found naming no request to answer."""
        rows = self._x("SELECT line FROM line_errors WHERE batch_id = ?", (batch_id,)).fetchall()
        return frozenset(row[0] for row in rows)

    # --- chunks --------------------------------------------------------------------

    def claim(self, batch_id: str, owner: str, lease_s: float) -> Chunk | None:
        """The job's first chunk not done and not held by a live lease, now this runner's; None when none is."""
        with self._tx():
            row = self._x(
                "SELECT seq, first_line, byte_offset FROM chunks WHERE batch_id = ? AND done = 0 "
                f"AND (owner IS NULL OR owner = ? OR lease_until < {self.clock}) ORDER BY seq LIMIT 1 {self.skip_locked}",
                (batch_id, owner),
            ).fetchone()
            if row is None:
                return None
            self._x(f"UPDATE chunks SET owner = ?, lease_until = {self.clock} + ?, claims = claims + 1 "
                    "WHERE batch_id = ? AND seq = ?", (owner, lease_s, batch_id, row[0]))
        return Chunk(*row)

    def renew(self, batch_id: str, chunk: int, owner: str, lease_s: float) -> None:
        with self._tx():
            self._x(f"UPDATE chunks SET lease_until = {self.clock} + ? WHERE batch_id = ? AND seq = ? AND owner = ? "
                    "AND done = 0", (lease_s, batch_id, chunk, owner))

    def chunks_left(self, batch_id: str) -> int:
        left: int = self._x("SELECT COUNT(*) FROM chunks WHERE batch_id = ? AND done = 0", (batch_id,)).fetchone()[0]
        return left

    def commit_chunk(self, batch_id: str, chunk: int, owner: str, output: bytes, error: bytes,
                     completed: int, failed: int) -> bool:
        """The chunk's answers, its done mark and the job's counts, at once; False (nothing stored) when the
        chunk is done already or the job has ended."""
        with self._tx():
            row = self._x(f"SELECT status, output_bytes, error_bytes FROM batches WHERE id = ? {self.lock_row}",
                          (batch_id,)).fetchone()
            if row[0] not in ("in_progress", "cancelling"):
                return False
            done = self._x("UPDATE chunks SET done = 1, owner = ? WHERE batch_id = ? AND seq = ? AND done = 0",
                           (owner, batch_id, chunk)).rowcount
            if done != 1:
                return False
            self._put_results(batch_id, chunk, (row[1], row[2]), output, error)
            self._x("UPDATE batches SET completed = completed + ?, failed = failed + ?, output_bytes = output_bytes + ?, "
                    "error_bytes = error_bytes + ? WHERE id = ?",
                    (completed, failed, len(output), len(error), batch_id))
        return True

    def finish(self, batch_id: str, status: Status, at: int) -> bool:
        """The job's result files become files its owner can read, and the job reaches `status`; False when
        it had ended already (another server finished it)."""
        kept: list[str] = []
        with self._tx():
            row = self._x(f"SELECT status, tenant, output_bytes, error_bytes FROM batches WHERE id = ? {self.lock_row}",
                          (batch_id,)).fetchone()
            if row[0] in FINAL:
                return False
            ids: list[str | None] = []
            for kind, size in (("output", row[2]), ("error", row[3])):
                if size == 0:  # no line went there: no file (OpenAI's id is then null)
                    ids.append(None)
                    continue
                record = FileRecord(new_id("file-"), row[1], OUTPUT_PURPOSE, f"{batch_id}_{kind}.jsonl", size, at,
                                    self._result_blob(batch_id, kind))
                self._x("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?)", astuple(record))
                ids.append(record.id)
                kept.append(kind)
            self._x(f"UPDATE batches SET status = ?, {_TIMESTAMP[status]} = ?, output_file_id = ?, error_file_id = ? "
                    "WHERE id = ?", (status, at, ids[0], ids[1], batch_id))
            self._x("DELETE FROM chunks WHERE batch_id = ? AND done = 0", (batch_id,))
        for kind in {"output", "error"} - set(kept):
            self.delete_blob(self._result_blob(batch_id, kind))
        return True

    def _record(self, row: tuple[Any, ...]) -> BatchRecord:
        values = dict(zip(_BATCH_COLUMNS, row, strict=True))
        if values["metadata"] is not None:
            values["metadata"] = json.loads(values["metadata"])
        rows = self._x(
            "SELECT code, message, line, param FROM line_errors WHERE batch_id = ? ORDER BY line LIMIT ?",
            (values["id"], MAX_ERRORS_SHOWN),
        ).fetchall()
        return BatchRecord(**values, errors=[LineError(*r) for r in rows])


__all__ = ["MAX_ERRORS_SHOWN", "BlobWriter", "Order", "Store", "StoreUnavailableError"]
