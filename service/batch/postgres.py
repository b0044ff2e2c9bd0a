"""The fleet's store: jobs, chunks and file bytes in one PostgreSQL database that every replica shares.

No shared disk: a file's bytes are rows of `pieces` (bytea of at most `PIECE_BYTES` each), written and
read a piece at a time, so no file is ever held whole in memory. An upload's pieces are all
`PIECE_BYTES` long but the last, so a runner reads a chunk's lines from its byte offset by arithmetic;
a result file's pieces are numbered by chunk (`PARTS_PER_CHUNK` each), so chunks answered in any order
by any replica read back in input order. Chunks are claimed with `FOR UPDATE SKIP LOCKED`, and a job's
row is locked (`FOR UPDATE`) by whatever commits a chunk or finishes it, so those serialise per job.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

import psycopg

from router.errors import ConfigError
from service.batch.records import RUNNABLE
from service.batch.store import BlobWriter, Store, StoreUnavailableError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, purpose TEXT NOT NULL, filename TEXT NOT NULL,
    bytes BIGINT NOT NULL, created_at BIGINT NOT NULL, blob TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS files_by_tenant ON files (tenant, created_at, id);
CREATE TABLE IF NOT EXISTS batches (
    seq BIGSERIAL PRIMARY KEY, id TEXT UNIQUE NOT NULL, tenant TEXT NOT NULL,
    endpoint TEXT NOT NULL, input_file_id TEXT NOT NULL, completion_window TEXT NOT NULL,
    status TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, metadata TEXT,
    in_progress_at BIGINT, finalizing_at BIGINT, completed_at BIGINT, failed_at BIGINT,
    expired_at BIGINT, cancelling_at BIGINT, cancelled_at BIGINT,
    total BIGINT NOT NULL, completed BIGINT NOT NULL, failed BIGINT NOT NULL,
    output_file_id TEXT, error_file_id TEXT,
    output_bytes BIGINT NOT NULL DEFAULT 0, error_bytes BIGINT NOT NULL DEFAULT 0,
    owner TEXT, lease_until DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS batches_by_tenant ON batches (tenant, seq);
CREATE TABLE IF NOT EXISTS line_errors (
    batch_id TEXT NOT NULL, line BIGINT NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL, param TEXT,
    PRIMARY KEY (batch_id, line)
);
CREATE TABLE IF NOT EXISTS chunks (
    batch_id TEXT NOT NULL, seq BIGINT NOT NULL, first_line BIGINT NOT NULL, byte_offset BIGINT NOT NULL,
    done INTEGER NOT NULL, owner TEXT, lease_until DOUBLE PRECISION, claims INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (batch_id, seq)
);
CREATE TABLE IF NOT EXISTS pieces (
    blob TEXT NOT NULL, seq BIGINT NOT NULL, data BYTEA NOT NULL,
    created_at BIGINT NOT NULL DEFAULT EXTRACT(EPOCH FROM now())::bigint, PRIMARY KEY (blob, seq)
);
"""
_SCHEMA_LOCK = 0x656D6272
"""An advisory lock taken while the schema is made: replicas starting together make it once."""
_TENANT_LOCKS = 0x656D6273
"""The namespace of the advisory locks that serialise a tenant's job creations (with the tenant's hash)."""

PIECE_BYTES = 256 * 1024
PARTS_PER_CHUNK = 1 << 24
"""A result file's piece number is chunk * PARTS_PER_CHUNK + part."""
CONNECT_TIMEOUT_S = 10


def _connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)


class PostgresStore(Store):
    lock_row = "FOR UPDATE"
    skip_locked = "FOR UPDATE SKIP LOCKED"
    shared = True
    clock = "EXTRACT(EPOCH FROM clock_timestamp())::float8"

    def __init__(self, url: str) -> None:
        self._url = url
        try:
            self._db = _connect(url)
            self._reader = _connect(url)
            """Reads file pieces, from whichever thread reads a file; `_reading` takes turns."""
        except psycopg.ProgrammingError:  # libpq's reason may quote the URL, password included
            raise ConfigError("jobs_store", "is not a PostgreSQL URL libpq can read "
                                            "(postgresql://user:password@host:5432/db, special characters %-encoded)"
                              ) from None
        except psycopg.OperationalError as exc:
            raise ConfigError("jobs_store", f"cannot reach the PostgreSQL server: {_reason(exc)}") from None
        self._reading = threading.Lock()
        self._in_tx = False
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            self._db.execute(_SCHEMA)

    def _live(self) -> psycopg.Connection[Any]:
        """The store's connection, made again when the last one broke - never inside a transaction, whose
        statements must all run on the connection that began it (or fail with it)."""
        if (self._db.closed or self._db.broken) and not self._in_tx:
            self._db = _connect(self._url)
        return self._db

    def _x(self, sql: str, params: Iterable[Any] = ()) -> Any:
        with _reachable():
            return self._live().execute(sql.replace("?", "%s"), tuple(params))

    def _many(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        with _reachable(), self._live().cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), [tuple(r) for r in rows])

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        with _reachable(), self._live().transaction():
            self._in_tx = True
            try:
                yield
            finally:
                self._in_tx = False

    def _lock_tenant(self, tenant: str) -> None:
        self._x("SELECT pg_advisory_xact_lock(?, hashtext(?))", (_TENANT_LOCKS, tenant))

    def close(self) -> None:
        self._db.close()
        self._reader.close()

    # --- file bytes: rows of pieces ------------------------------------------------

    def blob_writer(self, blob: str) -> BlobWriter:
        return _PieceWriter(self, blob)

    def open_blob(self, blob: str, offset: int) -> BinaryIO:
        reader = io.BufferedReader(_PieceReader(self, blob, offset), PIECE_BYTES)
        return reader

    def read_piece(self, blob: str, cursor: int) -> tuple[bytes, int] | None:
        row = self._read("SELECT seq, data FROM pieces WHERE blob = %s AND seq >= %s ORDER BY seq LIMIT 1",
                         (blob, cursor))
        return (bytes(row[1]), row[0] + 1) if row else None

    def _read(self, sql: str, params: tuple[Any, ...]) -> Any:
        with self._reading, _reachable():
            if self._reader.closed or self._reader.broken:
                self._reader = _connect(self._url)
            return self._reader.execute(sql, params).fetchone()

    def delete_blob(self, blob: str) -> None:
        self._x("DELETE FROM pieces WHERE blob = ?", (blob,))

    def _result_blob(self, batch_id: str, kind: str) -> str:
        return f"{batch_id}.{kind}"

    def purge_orphans(self, before: int) -> None:
        marks = ", ".join("?" * len(RUNNABLE))
        self._x("DELETE FROM pieces p WHERE p.created_at < ? AND NOT EXISTS (SELECT 1 FROM files f WHERE f.blob = p.blob) "
                f"AND split_part(p.blob, '.', 1) NOT IN (SELECT id FROM batches WHERE status IN ({marks}))",
                [before, *sorted(RUNNABLE)])

    def _put_results(self, batch_id: str, chunk: int, sizes: tuple[int, int], output: bytes, error: bytes) -> None:
        rows = [
            (self._result_blob(batch_id, kind), chunk * PARTS_PER_CHUNK + part, data[start:start + PIECE_BYTES])
            for kind, data in (("output", output), ("error", error))
            for part, start in enumerate(range(0, len(data), PIECE_BYTES))
        ]
        self._many("INSERT INTO pieces (blob, seq, data) VALUES (?, ?, ?)", rows)

    def put_piece(self, blob: str, seq: int, data: bytes) -> None:
        self._x("INSERT INTO pieces (blob, seq, data) VALUES (?, ?, ?)", (blob, seq, data))


@contextlib.contextmanager
def _reachable() -> Iterator[None]:
    """A lost connection or a server going away is the store being unavailable, not a broken job."""
    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        raise StoreUnavailableError(f"the jobs' PostgreSQL store is unreachable: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]


class _PieceWriter(BlobWriter):
    """Pieces of exactly PIECE_BYTES as they fill (each its own commit), the rest at `keep`."""

    def __init__(self, store: PostgresStore, blob: str) -> None:
        self._store = store
        self._blob = blob
        self._held = bytearray()
        self._seq = 0

    def write(self, piece: bytes) -> None:
        self._held += piece
        while len(self._held) >= PIECE_BYTES:
            self._put(bytes(self._held[:PIECE_BYTES]))
            del self._held[:PIECE_BYTES]

    def keep(self) -> None:
        if self._held:
            self._put(bytes(self._held))
            self._held.clear()

    def discard(self) -> None:
        self._held.clear()
        self._store.delete_blob(self._blob)

    def _put(self, data: bytes) -> None:
        self._store.put_piece(self._blob, self._seq, data)
        self._seq += 1


class _PieceReader(io.RawIOBase):
    """An uploaded file from `offset`, a piece at a time."""

    def __init__(self, store: PostgresStore, blob: str, offset: int) -> None:
        self._store = store
        self._blob = blob
        self._seq, self._skip = divmod(offset, PIECE_BYTES)
        self._held = b""
        self._at = offset

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._at

    def readinto(self, buffer: Any) -> int:
        if not self._held:
            row = self._store._read("SELECT data FROM pieces WHERE blob = %s AND seq = %s", (self._blob, self._seq))
            if row is None:
                return 0
            self._held = bytes(row[0])[self._skip:]
            self._seq, self._skip = self._seq + 1, 0
            if not self._held:
                return self.readinto(buffer)
        n = min(len(buffer), len(self._held))
        buffer[:n] = self._held[:n]
        self._held = self._held[n:]
        self._at += n
        return n


__all__ = ["PARTS_PER_CHUNK", "PIECE_BYTES", "PostgresStore"]
