"""A job's two result files (answers, errors) and their lines, in OpenAI's shapes.

    {"id": "batch_req_...", "custom_id": ..., "response": {"status_code", "request_id", "body"}, "error": null}
    {"id": "batch_req_...", "custom_id": ..., "response": null, "error": {"code", "message"}}

A line whose request ran goes to the output file when its status is 2xx, else to the error file with
the live route's error body; a line that could not be sent goes to the error file with `error`. The
files grow only by whole chunks, committed with the chunk's done mark (service.batch.store).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any


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


__all__ = ["Answer", "answered", "line_id", "unsent"]
