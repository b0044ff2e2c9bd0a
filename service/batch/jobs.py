"""Batch jobs as the fronts see them: files in, jobs created, read, listed and cancelled, results out.

With API keys, everything is the caller's key's (its hash, service.core.keys.tenant, set by the
front for the call): another key's file or job is answered as one that does not exist. Without
keys there is one tenant, as for the vector cache. Files are written and read in pieces on one I/O
thread, which also owns the store, so neither an upload nor a download is held whole in memory and
the event loop never waits on a disk or a database. The store is the embedded one under `data_dir`,
or PostgreSQL when `jobs_store` names one (service.batch.store): then every replica on it answers
for every job and file, and runs chunks of every job.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from service.batch.lock import DataDirLock
from service.batch.records import (
    COMPLETION_WINDOWS,
    FINAL,
    INPUT_PURPOSE,
    BatchRecord,
    FileRecord,
    new_id,
    now,
)
from service.batch.runner import Endpoints, Runner
from service.batch.sqlite import SqliteStore
from service.batch.store import BlobWriter, Order, Store
from service.core import keys
from service.core.config import Settings
from service.core.errors import InvalidArgumentError, NotFoundError, PayloadTooLargeError, ResourceExhaustedError

T = TypeVar("T")

DEFAULT_PAGE = 20
MAX_PAGE = 100
"""Jobs a list page holds when the caller names no size, and at most."""
MAX_FILES_PAGE = 10_000
"""OpenAI's bound on a files list page's `limit` (and its default)."""
MAX_METADATA_KEYS = 16
MAX_METADATA_CHARS = 512
"""OpenAI's bounds on a job's metadata: 16 pairs, keys of 64 and values of 512 characters."""
STORAGE_RETRY_S = 60.0
JOBS_RETRY_S = 10.0
PURGE_EVERY_S = 3600.0
"""The Retry-After of a full store and of a key with its most unfinished jobs: neither frees up at once."""
ORPHANS_AFTER_S = 24 * 3600.0
"""Bytes of an upload cut off by a crash are deleted this long after they were written: no upload lasts
that long, so none still being received is taken for one."""
WATCH_EVERY_S = 0.2
"""How often `watch` reads a job: its counts move a committed chunk at a time."""


class NoSuchThingError(NotFoundError):
    """A file or job id the caller cannot see: unknown, deleted, or another key's."""

    reason = "NOT_FOUND"


class Upload:
    """A file being received: pieces go to the store as they come, refused past the size limit."""

    def __init__(self, jobs: BatchJobs, file_id: str, writer: BlobWriter, room: int) -> None:
        self._jobs = jobs
        self._id = file_id
        self._writer = writer
        self._room = room
        """What the storage limit leaves for this file."""
        self.bytes = 0

    async def write(self, piece: bytes) -> None:
        self.bytes += len(piece)
        if self.bytes > self._jobs.max_file_bytes:
            await self.abort()
            raise PayloadTooLargeError(f"the file is over {self._jobs.max_file_bytes} bytes (batch_max_file_bytes)")
        if self.bytes > self._room:
            await self.abort()
            raise ResourceExhaustedError("the server's batch storage is full (batch_max_storage_bytes); delete "
                                         "files to make room", retry_after_s=STORAGE_RETRY_S)
        if piece:
            await self._jobs.io(self._writer.write, piece)

    async def abort(self) -> None:
        await self._jobs.io(self._writer.discard)

    async def finish(self, filename: str, purpose: str) -> FileRecord:
        if purpose != INPUT_PURPOSE:
            await self.abort()
            raise InvalidArgumentError.for_field(
                "purpose", f"purpose must be {INPUT_PURPOSE!r} (this server stores batch input files only), "
                f"not {purpose[:40]!r}")
        record = FileRecord(self._id, self._jobs.tenant(), purpose, filename[:255] or "upload.jsonl", self.bytes, now(),
                            self._id)
        await self._jobs.io(self._keep, record)
        return record

    def _keep(self, record: FileRecord) -> None:
        self._writer.keep()
        self._jobs.store.add_file(record)


class BatchJobs:
    """Create on the event loop that serves the fronts; `start` resumes the jobs a restart left."""

    def __init__(self, settings: Settings, endpoints: Endpoints) -> None:
        self._lock: DataDirLock | None = None
        self.store = self._open_store(settings)
        self.max_file_bytes = settings.batch_max_file_bytes
        self._max_storage_bytes = settings.batch_max_storage_bytes
        self._max_jobs = settings.batch_max_jobs_per_key
        self._retention_s = settings.batch_retention_seconds
        self._purger: asyncio.Task[None] | None = None
        self.endpoints = sorted(endpoints)
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-io")
        self._runner = Runner(settings, self.store, endpoints, self._io)
        self._per_key = bool(settings.api_keys) or settings.api_keys_file is not None

    def _open_store(self, settings: Settings) -> Store:
        """PostgreSQL when `jobs_store` names it, else the embedded store under `data_dir` (this server's alone)."""
        if settings.jobs_store:
            from service.batch.postgres import PostgresStore  # the driver is loaded only by a fleet

            return PostgresStore(settings.jobs_store)
        assert settings.data_dir is not None
        self._lock = DataDirLock(settings.data_dir)
        files = settings.data_dir / "files"
        files.mkdir(parents=True, exist_ok=True)
        return SqliteStore(settings.data_dir / "jobs.sqlite3", files)

    def tenant(self) -> str:
        """Whose files and jobs the call handled now may see."""
        return keys.tenant.get() if self._per_key else ""

    async def io(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._io, fn, *args)

    def start(self) -> None:
        self._runner.start()
        self._purger = asyncio.create_task(self._purge(), name="batch-purge")

    async def stop(self) -> None:
        """Stops the runner (before the fronts drain: its lines would be refused); the chunk in flight is
        redone by the next start."""
        await self._runner.stop()
        if self._purger is not None:
            self._purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purger

    async def _purge(self) -> None:
        """Deletes the files older than the retention, at a tenth of it (at most hourly)."""
        while True:
            stale = await self.io(self.store.stale_files, int(now() - self._retention_s))
            for record in stale:
                await self.io(self.store.delete_file, record)
            await self.io(self.store.purge_orphans, int(now() - ORPHANS_AFTER_S))
            await asyncio.sleep(min(PURGE_EVERY_S, self._retention_s / 10))

    async def close(self) -> None:
        """Closes the store, once the fronts have stopped."""
        await self.io(self.store.close)
        self._io.shutdown(wait=True)
        if self._lock is not None:
            self._lock.release()

    # --- files ---------------------------------------------------------------------

    async def upload(self) -> Upload:
        file_id = new_id("file-")
        stored = await self.io(self.store.stored_bytes)
        writer = await self.io(self.store.blob_writer, file_id)
        return Upload(self, file_id, writer, self._max_storage_bytes - stored)

    async def file(self, file_id: str) -> FileRecord:
        record = await self.io(self.store.file, file_id)
        if record is None or record.tenant != self.tenant():
            raise NoSuchThingError(f"no file {file_id[:80]!r}")
        return record

    async def files(self, purpose: str | None, after: str | None, limit: int | None = None, order: str = "desc"
                    ) -> tuple[list[FileRecord], bool]:
        """The caller's files, newest first (`order` desc) or oldest, a page after the file `after`;
        `limit` None: the largest page."""
        limit = MAX_FILES_PAGE if limit is None else limit
        if not 1 <= limit <= MAX_FILES_PAGE:
            raise InvalidArgumentError.for_field("limit", f"limit must be 1 to {MAX_FILES_PAGE}")
        if order not in ("asc", "desc"):
            raise InvalidArgumentError.for_field("order", "order must be asc or desc")
        way: Order = "asc" if order == "asc" else "desc"
        return await self.io(self.store.files, self.tenant(), purpose, after, limit, way)

    async def content(self, file_id: str) -> tuple[FileRecord, AsyncIterator[bytes]]:
        """The file and its bytes in pieces (its recorded size: a result file is never read past its
        last committed chunk)."""
        record = await self.file(file_id)

        async def pieces() -> AsyncIterator[bytes]:
            left, cursor = record.bytes, 0
            while left > 0:
                got = await self.io(self.store.read_piece, record.blob, cursor)
                if got is None:
                    return
                piece, cursor = got
                piece = piece[:left]
                left -= len(piece)
                yield piece

        return record, pieces()

    async def delete(self, file_id: str) -> FileRecord:
        record = await self.file(file_id)
        await self.io(self.store.delete_file, record)
        return record

    # --- jobs ----------------------------------------------------------------------

    async def create(
        self, input_file_id: str, endpoint: str, completion_window: str, metadata: dict[str, Any] | None
    ) -> BatchRecord:
        if endpoint not in self.endpoints:
            raise InvalidArgumentError.for_field(
                "endpoint", f"endpoint {endpoint[:80]!r} is not served in batches; use one of {', '.join(self.endpoints)}")
        if completion_window not in COMPLETION_WINDOWS:
            raise InvalidArgumentError.for_field(
                "completion_window", f"completion_window must be one of {', '.join(COMPLETION_WINDOWS)}")
        _check_metadata(metadata)
        source = await self.file(input_file_id)
        if source.purpose != INPUT_PURPOSE:
            raise InvalidArgumentError.for_field(
                "input_file_id", f"file {input_file_id[:80]!r} has purpose {source.purpose!r}; a batch reads a "
                f"file uploaded with purpose {INPUT_PURPOSE!r}")
        created = now()
        record = BatchRecord(new_id("batch_"), self.tenant(), endpoint, input_file_id, completion_window, "validating",
                             created, created + COMPLETION_WINDOWS[completion_window], metadata)
        unfinished = await self.io(self.store.add_batch, record, self._max_jobs)
        if unfinished >= self._max_jobs:
            raise ResourceExhaustedError(f"{unfinished} batches of this key are not finished, the most it may have "
                                         "(batch_max_jobs_per_key); retry when one ends", retry_after_s=JOBS_RETRY_S)
        self._runner.wake()
        return record

    async def batch(self, batch_id: str) -> BatchRecord:
        record = await self.io(self.store.batch, batch_id)
        if record is None or record.tenant != self.tenant():
            raise NoSuchThingError(f"no batch {batch_id[:80]!r}")
        return record

    async def batches(self, after: str | None, limit: int | None = None) -> tuple[list[BatchRecord], bool]:
        """The caller's jobs, newest first, a page after the job `after`; `limit` None: `DEFAULT_PAGE`."""
        limit = DEFAULT_PAGE if limit is None else limit
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidArgumentError.for_field("limit", f"a page holds 1 to {MAX_PAGE} jobs")
        return await self.io(self.store.batches, self.tenant(), after, limit)

    async def watch(self, batch_id: str) -> AsyncIterator[BatchRecord]:
        """The job now, then each time its status or counts change, until it reaches a final status."""
        last: tuple[object, ...] = ()
        while True:
            record = await self.batch(batch_id)
            seen = (record.status, record.total, record.completed, record.failed)
            if seen != last:
                last = seen
                yield record
            if record.status in FINAL:
                return
            await asyncio.sleep(WATCH_EVERY_S)

    async def cancel(self, batch_id: str) -> BatchRecord:
        """validating or in_progress -> cancelling; the runner stops after the chunk in flight and the
        job becomes cancelled, with the lines answered so far in its files."""
        record = await self.batch(batch_id)
        if not await self.io(self.store.move, batch_id, "cancelling", now(), FINAL | {"finalizing", "cancelling"}):
            if record.status != "cancelling":
                raise InvalidArgumentError.for_field(
                    "batch_id", f"batch {batch_id[:80]!r} is {record.status}; only a validating or in_progress "
                    "batch can be cancelled")
        self._runner.wake()
        return await self.batch(batch_id)


def _check_metadata(metadata: dict[str, Any] | None) -> None:
    if metadata is None:
        return
    if len(metadata) > MAX_METADATA_KEYS or not all(
        isinstance(v, str) and len(k) <= 64 and len(v) <= MAX_METADATA_CHARS for k, v in metadata.items()
    ):
        raise InvalidArgumentError.for_field(
            "metadata", f"metadata holds at most {MAX_METADATA_KEYS} string values (keys of 64, values of "
            f"{MAX_METADATA_CHARS} characters)")


__all__ = ["BatchJobs", "NoSuchThingError", "Upload"]
