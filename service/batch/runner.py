"""The job runner: one task per server that validates, runs and finishes jobs, oldest first.

A job's lines run through the same endpoints a live call takes (`Endpoints`, given by the
fronts: a dialect's translation, or the gRPC front's, and the application), with the
application's `background` set, so their engine work waits in the models' lowest lane; at most `batch_lines_in_flight` at once.
Validation cuts the input into chunks of `batch_chunk_lines` lines. The runner claims a chunk with a
lease (`batch_chunk_lease_seconds`, renewed while it works), answers its lines and commits them with
the chunk's done mark in one transaction (service.batch.store). A crash loses at most the chunks in
flight, which are claimed again (at once on a restarted single server, once their lease runs out on a
fleet) and written once. Several servers on one shared store each claim chunks of the same job.
Overloaded answers (429, 503) are retried, not recorded: a busy server delays a job, it does not fail its lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from service.app import background
from service.batch import lines, results
from service.batch.records import FINAL, BatchRecord, Chunk, LineError, Status, now
from service.batch.results import Answer
from service.batch.store import Store, StoreUnavailableError
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
RawLines = list[tuple[int, bytes | None]]


class Runner:
    def __init__(self, settings: Settings, store: Store, endpoints: Endpoints, io: ThreadPoolExecutor) -> None:
        self._store = store
        self._endpoints = endpoints
        self._io = io
        self._chunk_lines = settings.batch_chunk_lines
        self._in_flight = settings.batch_lines_in_flight
        self._max_lines = settings.batch_max_lines
        self._max_line_bytes = settings.max_message_bytes
        self._lease_s = settings.batch_chunk_lease_seconds
        self._poll_s = self._lease_s / 2 if store.shared else None
        """On a shared store, how often to look for jobs other servers made and chunks whose lease ran out."""
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        """This runner in the store's claims."""
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._work(), name="batch-runner")

    def wake(self) -> None:
        """A job was created or cancelled: look again."""
        self._wake.set()

    async def stop(self) -> None:
        """Stops between two awaits; the chunk in flight is claimed again (by the next start, or another server)."""
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
        await self._io_call(self._store.recover)
        while True:
            self._wake.clear()
            try:
                await self._run_all()
            except StoreUnavailableError as exc:  # the jobs wait for it; nothing is lost but time
                log.warning("batch jobs wait: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)

    async def _run_all(self) -> None:
        for batch_id in await self._io_call(self._store.runnable):
            try:
                await self._run(batch_id)
            except (asyncio.CancelledError, StoreUnavailableError):
                raise
            except Exception:  # a bug in one job must not stop every other
                log.exception("batch %s failed", batch_id)
                await self._io_call(self._store.break_job, batch_id, now())

    async def _run(self, batch_id: str) -> None:
        record = await self._record(batch_id)
        if record.status == "validating":
            if not await self._io_call(self._store.claim_validation, batch_id, self.owner, self._lease_s):
                return  # another server validates it
            async with self._holding(self._store.renew_validation, batch_id, self.owner, self._lease_s):
                await self._validate(record)
            record = await self._record(batch_id)
        if record.status == "in_progress":
            await self._process(record)
            record = await self._record(batch_id)
        if record.status in ("finalizing", "cancelling"):
            await self._io_call(self._store.finish, record.id, _last_status(record), now())

    async def _record(self, batch_id: str) -> BatchRecord:
        record = await self._io_call(self._store.batch, batch_id)
        assert record is not None  # jobs are never deleted
        return record

    @contextlib.asynccontextmanager
    async def _holding(self, renew: Callable[..., None], *args: Any) -> AsyncIterator[None]:
        """Renews a claim's lease while the block runs, three times a lease."""
        async def beat() -> None:
            while True:
                await asyncio.sleep(self._lease_s / 3)
                try:
                    await self._io_call(renew, *args)
                except StoreUnavailableError:  # try again; the commit tells whether the claim held
                    pass

        task = asyncio.create_task(beat(), name="batch-lease")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- validating ----------------------------------------------------------------

    async def _validate(self, record: BatchRecord) -> None:
        blob = await self._io_call(self._input, record)
        total, errors, chunks, fatal = await asyncio.to_thread(self._check_lines, blob)
        if fatal is not None:
            await self._io_call(self._store.fail, record.id, [fatal], now())
        else:
            await self._io_call(self._store.validated, record.id, total, errors, chunks, now())

    def _check_lines(self, blob: str) -> tuple[int, list[LineError], list[tuple[int, int]], LineError | None]:
        """Every line read once (on a pool thread: the store's thread stays free for the fronts' calls):
        the requests to answer, the lines naming none, where each chunk starts (first line, byte offset),
        or why the whole file cannot run."""
        seen: set[str] = set()
        errors: list[LineError] = []
        chunks: list[tuple[int, int]] = []
        counted, start = 0, 0
        with self._store.open_blob(blob, 0) as stream:
            for number, raw, offset in lines.numbered(stream, self._max_line_bytes):
                line_start, start = start, offset
                if raw is not None and lines.blank(raw):
                    continue
                if counted % self._chunk_lines == 0:
                    chunks.append((number, line_start))
                counted += 1
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
                    return 0, [], [], LineError("too_many_requests", f"the file has over {self._max_lines} requests, "
                                                "the most one batch may hold (batch_max_lines)", number + 1)
        if not seen:
            return 0, [], [], LineError("empty_file", "the input file holds no request with a custom_id", 1)
        return len(seen), errors, chunks, None

    def _input(self, record: BatchRecord) -> str:
        input_file = self._store.file(record.input_file_id)
        if input_file is None:
            raise FileNotFoundError(record.input_file_id)
        return input_file.blob

    # --- in progress ---------------------------------------------------------------

    async def _process(self, record: BatchRecord) -> None:
        """Chunk after chunk until none is left to claim or the job is cancelled."""
        skipped = await self._io_call(self._store.skipped_lines, record.id)
        blob = await self._io_call(self._input, record)
        while await self._io_call(self._store.status, record.id) == "in_progress":
            chunk = await self._io_call(self._store.claim, record.id, self.owner, self._lease_s)
            if chunk is None:
                if await self._io_call(self._store.chunks_left, record.id) == 0:
                    await self._io_call(self._store.move, record.id, "finalizing", now(),
                                        FINAL | {"cancelling", "finalizing"})
                return  # else other servers hold the rest
            async with self._holding(self._store.renew, record.id, chunk.seq, self.owner, self._lease_s):
                raws = await asyncio.to_thread(self._read_chunk, blob, chunk)
                if now() >= await self._io_call(self._store.expires_at, record.id):
                    answers = _expired(record, raws, skipped)
                else:
                    answers = await self._answer_all(record, raws, skipped)
            ok = sum(a.ok for a in answers)
            await self._io_call(self._store.commit_chunk, record.id, chunk.seq, self.owner,
                                b"".join(a.line for a in answers if a.ok), b"".join(a.line for a in answers if not a.ok),
                                ok, len(answers) - ok)

    def _read_chunk(self, blob: str, chunk: Chunk) -> RawLines:
        """The chunk's `batch_chunk_lines` non-blank lines (fewer at the end of the file)."""
        raws: RawLines = []
        with self._store.open_blob(blob, chunk.offset) as stream:
            for number, raw, _ in lines.numbered(stream, self._max_line_bytes, chunk.first_line):
                if raw is None or not lines.blank(raw):
                    raws.append((number, raw))
                if len(raws) >= self._chunk_lines:
                    break
        return raws

    async def _answer_all(self, record: BatchRecord, chunk: RawLines, skipped: frozenset[int]) -> list[Answer]:
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


def _expired(record: BatchRecord, chunk: RawLines, skipped: frozenset[int]) -> list[Answer]:
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
