"""The job runner: one task per server that validates, runs and finishes jobs, oldest first.

A job's lines run through the same endpoints a live call takes (`Endpoints`, given by the
fronts: a dialect's translation, or the gRPC front's, and the application), with the
application's `background` set, so their engine work waits in the models' lowest lane; at most `batch_lines_in_flight` at once.
Lines are answered a chunk (`batch_chunk_lines`) at a time: the chunk's answers are written and
fsynced, then the resume point moves past them in the same transaction as the counts. A crash loses
at most the chunk in flight, which is computed again and written once. Overloaded answers (429,
503) are retried, not recorded: a busy server delays a job, it does not fail its lines.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from service.app import background
from service.batch import lines, results
from service.batch.records import FINAL, OUTPUT_PURPOSE, BatchRecord, FileRecord, LineError, Progress, Status, new_id, now
from service.batch.results import Answer, ResultFiles
from service.batch.store import Store
from service.core import keys, logs
from service.core.config import Settings

log = logging.getLogger(__name__)

LineAnswer = tuple[int, Any]
"""The HTTP status and the JSON body the live route answered."""
Endpoint = Callable[[dict[str, Any]], Awaitable[LineAnswer]]
Endpoints = Mapping[str, Endpoint]
"""A job's endpoint (`/v1/embeddings`) -> what answers one line's body as the live route does."""

RETRY_STATUSES = frozenset({429, 503})
RETRY_DELAY_S = 0.5
RETRY_FOR_S = 120.0
"""How long a line is retried while the server answers it busy or unavailable, before that answer is its result."""

T = TypeVar("T")


class Runner:
    def __init__(self, settings: Settings, store: Store, files: Path, endpoints: Endpoints, io: ThreadPoolExecutor) -> None:
        self._store = store
        self._files = files
        self._endpoints = endpoints
        self._io = io
        self._chunk_lines = settings.batch_chunk_lines
        self._in_flight = settings.batch_lines_in_flight
        self._max_lines = settings.batch_max_lines
        self._max_line_bytes = settings.max_message_bytes
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._work(), name="batch-runner")

    def wake(self) -> None:
        """A job was created or cancelled: look again."""
        self._wake.set()

    async def stop(self) -> None:
        """Stops between two awaits; the chunk in flight is redone by the next start."""
        if self._task is None:
            return
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass

    async def _io_call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._io, fn, *args)

    async def _work(self) -> None:
        while True:
            self._wake.clear()
            for batch_id in await self._io_call(self._store.runnable):
                try:
                    await self._run(batch_id)
                except asyncio.CancelledError:
                    raise
                except Exception:  # a bug in one job must not stop every other
                    log.exception("batch %s failed", batch_id)
                    await self._io_call(self._store.fail, batch_id, [], now())
            await self._wake.wait()

    async def _run(self, batch_id: str) -> None:
        record = await self._record(batch_id)
        if record.status == "validating":
            await self._validate(record)
            record = await self._record(batch_id)
        if record.status in ("in_progress", "cancelling"):
            await self._process(record)
            record = await self._record(batch_id)
        if record.status in ("finalizing", "cancelling"):
            await self._finalize(record, _last_status(record))

    async def _record(self, batch_id: str) -> BatchRecord:
        record = await self._io_call(self._store.batch, batch_id)
        assert record is not None  # jobs are never deleted
        return record

    # --- validating ----------------------------------------------------------------

    async def _validate(self, record: BatchRecord) -> None:
        path = await self._io_call(self._input, record)
        total, errors, fatal = await asyncio.to_thread(self._check_lines, path)
        if fatal is not None:
            await self._io_call(self._store.fail, record.id, [fatal], now())
        else:
            await self._io_call(self._store.validated, record.id, total, errors, now())

    def _check_lines(self, path: Path) -> tuple[int, list[LineError], LineError | None]:
        """Every line read once (on a pool thread: the store's thread stays free for the fronts' calls):
        the requests to answer, the lines naming none, or why the whole file cannot run."""
        seen: set[str] = set()
        errors: list[LineError] = []
        with open(path, "rb") as stream:
            for number, raw, _ in lines.numbered(stream, self._max_line_bytes):
                if raw is not None and lines.blank(raw):
                    continue
                cid = lines.custom_id(raw, number + 1, self._max_line_bytes)
                if isinstance(cid, LineError):
                    errors.append(cid)
                elif cid in seen:
                    errors.append(LineError("duplicate_custom_id", f"line {number + 1}: custom_id {cid[:80]!r} "
                                            "is also on an earlier line; each request needs its own", number + 1,
                                            "custom_id"))
                else:
                    seen.add(cid)
                if len(seen) > self._max_lines or len(errors) > self._max_lines:
                    return 0, [], LineError("too_many_requests", f"the file has over {self._max_lines} requests, "
                                            "the most one batch may hold (batch_max_lines)", number + 1)
        if not seen:
            return 0, [], LineError("empty_file", "the input file holds no request with a custom_id", 1)
        return len(seen), errors, None

    def _input(self, record: BatchRecord) -> Path:
        input_file = self._store.file(record.input_file_id)
        if input_file is None:
            raise FileNotFoundError(record.input_file_id)
        return self._files / input_file.blob

    # --- in progress ---------------------------------------------------------------

    async def _process(self, record: BatchRecord) -> None:
        """Chunk after chunk until the input ends or the job is cancelled."""
        skipped = await self._io_call(self._store.skipped_lines, record.id)
        progress = await self._io_call(self._store.progress, record.id)
        path = await self._io_call(self._input, record)
        out = await self._io_call(ResultFiles, *self._result_paths(record.id), progress)
        try:
            while await self._io_call(self._store.status, record.id) == "in_progress":
                chunk, after = await asyncio.to_thread(self._read_chunk, path, progress)
                if not chunk:
                    await self._io_call(self._store.move, record.id, "finalizing", now(), FINAL | {"cancelling"})
                    return
                if now() >= await self._io_call(self._store.expires_at, record.id):
                    answers = _expired(record, chunk, skipped)
                else:
                    answers = await self._answer_all(record, chunk, skipped)
                output_bytes, error_bytes = await self._io_call(out.append, answers)
                progress = Progress(after.next_line, after.input_offset, output_bytes, error_bytes)
                ok = sum(a.ok for a in answers)
                await self._io_call(self._store.commit_chunk, record.id, progress, ok, len(answers) - ok)
        finally:
            await self._io_call(out.close)

    def _read_chunk(self, path: Path, progress: Progress) -> tuple[list[tuple[int, bytes | None]], Progress]:
        """Up to `batch_chunk_lines` non-blank lines from the resume point, and the point after them."""
        chunk: list[tuple[int, bytes | None]] = []
        after = progress
        with open(path, "rb") as stream:
            stream.seek(progress.input_offset)
            for number, raw, offset in lines.numbered(stream, self._max_line_bytes, progress.next_line):
                after = Progress(number + 1, offset, progress.output_bytes, progress.error_bytes)
                if raw is None or not lines.blank(raw):
                    chunk.append((number, raw))
                if len(chunk) >= self._chunk_lines:
                    break
        return chunk, after

    async def _answer_all(
        self, record: BatchRecord, chunk: list[tuple[int, bytes | None]], skipped: frozenset[int]
    ) -> list[Answer]:
        slots = asyncio.Semaphore(self._in_flight)

        async def one(number: int, raw: bytes) -> Answer:
            async with slots:
                return await self._answer(record, number, raw)

        todo = [(n, raw) for n, raw in chunk if raw is not None and n + 1 not in skipped]
        return list(await asyncio.gather(*(one(n, raw) for n, raw in todo)))

    async def _answer(self, record: BatchRecord, number: int, raw: bytes) -> Answer:
        """One line's answer, from a task of its own that carries the job's tenant and the background lane."""
        keys.tenant.set(record.tenant)
        background.set(True)
        request_id = logs.adopt_request_id("")
        request = lines.request(raw, record.endpoint)
        if request.body is None:
            code, message = request.problem or ("invalid_request", "the line cannot be sent")
            return results.unsent(record.id, number, request.custom_id, code, message)
        endpoint = self._endpoints[record.endpoint]
        waited = 0.0
        while True:
            status, body = await endpoint(request.body)
            if status not in RETRY_STATUSES or waited >= RETRY_FOR_S:
                return results.answered(record.id, number, request.custom_id, status, request_id, body)
            await asyncio.sleep(RETRY_DELAY_S)
            waited += RETRY_DELAY_S

    # --- finalizing ----------------------------------------------------------------

    async def _finalize(self, record: BatchRecord, status: Status) -> None:
        """The result files become files of the job's owner; the job reaches its last status."""
        progress = await self._io_call(self._store.progress, record.id)
        output_path, error_path = self._result_paths(record.id)
        output = self._result_file(record, output_path, progress.output_bytes, "output")
        error = self._result_file(record, error_path, progress.error_bytes, "error")
        await self._io_call(self._store.finish, record.id, status, output, error, now())
        for path, kept in ((output_path, output), (error_path, error)):
            if kept is None:  # no line went there: no file (OpenAI's id is then null)
                await self._io_call(path.unlink, True)

    def _result_file(self, record: BatchRecord, path: Path, size: int, kind: str) -> FileRecord | None:
        if size == 0:
            return None
        return FileRecord(new_id("file-"), record.tenant, OUTPUT_PURPOSE, f"{record.id}_{kind}.jsonl", size, now(),
                          path.name)

    def _result_paths(self, batch_id: str) -> tuple[Path, Path]:
        return self._files / f"{batch_id}.output.jsonl", self._files / f"{batch_id}.error.jsonl"


def _expired(record: BatchRecord, chunk: list[tuple[int, bytes | None]], skipped: frozenset[int]) -> list[Answer]:
    """The chunk's lines answered without running: the completion window has passed (OpenAI's `batch_expired`)."""
    return [
        results.unsent(record.id, n, lines.request(raw, record.endpoint).custom_id, "batch_expired",
                       "This request could not be executed before the completion window expired.")
        for n, raw in chunk if raw is not None and n + 1 not in skipped
    ]


def _last_status(record: BatchRecord) -> Status:
    """cancelled after a cancel; expired when it finished past its window (its later lines answered
    `batch_expired`); else completed."""
    if record.status == "cancelling":
        return "cancelled"
    if record.finalizing_at is not None and record.finalizing_at >= record.expires_at:
        return "expired"
    return "completed"


__all__ = ["Endpoint", "Endpoints", "LineAnswer", "Runner"]
