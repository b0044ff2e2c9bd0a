"""The batch API's records in the core's words: files, jobs and their line errors (no I/O here).

The fields are OpenAI's (a front only renames nothing but shapes JSON): a job's timestamps are
Unix seconds, None until the job gets there; `request_counts` are lines answered so far.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal[
    "validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling", "cancelled"
]
FINAL: frozenset[Status] = frozenset({"failed", "completed", "expired", "cancelled"})
"""Statuses a job never leaves."""
RUNNABLE: frozenset[Status] = frozenset({"validating", "in_progress", "finalizing", "cancelling"})
"""Statuses the runner still owes work: a restarted server resumes these."""

Purpose = Literal["batch", "batch_output"]
INPUT_PURPOSE: Purpose = "batch"
OUTPUT_PURPOSE: Purpose = "batch_output"

COMPLETION_WINDOWS = {"24h": 24 * 3600}
"""OpenAI accepts only `24h`; its seconds decide `expires_at`."""


def new_id(prefix: str) -> str:
    """An id OpenAI's clients accept (`file-...`, `batch_...`), unguessable: ids are not secrets, but
    an id that cannot be guessed tells no other tenant how many jobs exist."""
    return f"{prefix}{secrets.token_hex(12)}"


def now() -> int:
    return int(time.time())


@dataclass(frozen=True)
class FileRecord:
    id: str
    tenant: str
    purpose: str
    filename: str
    bytes: int
    created_at: int
    blob: str
    """The file's name under the store's files folder."""


@dataclass(frozen=True)
class LineError:
    """A line of the input file that names no request to answer (OpenAI's `errors.data` entry)."""

    code: str
    message: str
    line: int
    """1-based, as an editor shows it."""
    param: str | None = None


@dataclass
class BatchRecord:
    id: str
    tenant: str
    endpoint: str
    input_file_id: str
    completion_window: str
    status: Status
    created_at: int
    expires_at: int
    metadata: dict[str, Any] | None = None
    in_progress_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[LineError] = field(default_factory=list)


@dataclass(frozen=True)
class Chunk:
    """A run of `batch_chunk_lines` lines of a job's input that commits at once: a runner claims it,
    answers it and marks it done in one transaction with its answers."""

    seq: int
    first_line: int
    """0-based number of its first input line."""
    offset: int
    """Byte offset of that line in the input file."""


__all__ = [
    "COMPLETION_WINDOWS",
    "FINAL",
    "INPUT_PURPOSE",
    "OUTPUT_PURPOSE",
    "RUNNABLE",
    "BatchRecord",
    "Chunk",
    "FileRecord",
    "LineError",
    "Purpose",
    "Status",
    "new_id",
    "now",
]
