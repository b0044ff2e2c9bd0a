"""A job's two result files (answers, errors) and their lines, in OpenAI's shapes.

    {"id": "batch_req_...", "custom_id": ..., "response": {"status_code", "request_id", "body"}, "error": null}
    {"id": "batch_req_...", "custom_id": ..., "response": null, "error": {"code", "message"}}

A line whose request ran goes to the output file when its status is 2xx, else to the error file with
the live route's error body; a line that could not be sent goes to the error file with `error`. The
files grow only by whole chunks: a resumed job first cuts each back to its last committed size, so a
crash between a write and its commit leaves no line twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from service.batch.records import Progress


@dataclass(frozen=True)
class Answer:
    ok: bool
    """Goes to the output file (else to the error file)."""
    line: bytes
    """The JSONL line, newline included."""


def line_id(batch_id: str, line: int) -> str:
    """The same id for the same line of the same job, however often it is computed."""
    return "batch_req_" + hashlib.sha256(f"{batch_id}:{line}".encode()).hexdigest()[:24]


def answered(batch_id: str, line: int, custom_id: str, status: int, request_id: str, body: Any) -> Answer:
    record = {"id": line_id(batch_id, line), "custom_id": custom_id,
              "response": {"status_code": status, "request_id": request_id, "body": body}, "error": None}
    return Answer(200 <= status < 300, _jsonl(record))


def unsent(batch_id: str, line: int, custom_id: str, code: str, message: str) -> Answer:
    record = {"id": line_id(batch_id, line), "custom_id": custom_id, "response": None,
              "error": {"code": code, "message": message}}
    return Answer(False, _jsonl(record))


def _jsonl(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


class ResultFiles:
    """The job's output and error files, cut back to `committed` when opened; used on one thread."""

    def __init__(self, output: Path, error: Path, committed: Progress) -> None:
        self._files = [_open_at(output, committed.output_bytes), _open_at(error, committed.error_bytes)]

    def append(self, answers: list[Answer]) -> tuple[int, int]:
        """Writes a chunk's answers and fsyncs both files; their sizes after it."""
        output, error = self._files
        output.write(b"".join(a.line for a in answers if a.ok))
        error.write(b"".join(a.line for a in answers if not a.ok))
        for f in self._files:
            f.flush()
            os.fsync(f.fileno())
        return output.tell(), error.tell()

    def close(self) -> None:
        for f in self._files:
            f.close()


def _open_at(path: Path, size: int) -> BinaryIO:
    """The file cut back to `size` (what was written after the last commit goes), positioned at its end."""
    f = open(path, "r+b" if path.exists() else "w+b")  # closed by ResultFiles.close
    f.truncate(size)
    f.seek(size)
    return f


__all__ = ["Answer", "ResultFiles", "answered", "line_id", "unsent"]
