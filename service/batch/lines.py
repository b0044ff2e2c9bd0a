"""An input file's lines: each one a request `{custom_id, method, url, body}` as OpenAI's Batch API has it.

Validation reads every line once, before any runs: a line that is not a JSON object with a usable,
unique `custom_id` names no request to answer, so it becomes a `LineError` of the job (OpenAI's
`errors.data`), and the other lines still run. A line with a usable `custom_id` but the wrong
method, a `url` other than the job's endpoint, or no object `body` is answered in the error file
instead (`request`), so each custom_id appears exactly once in the job's results.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from service.batch.records import LineError

MAX_CUSTOM_ID_CHARS = 512
"""Longer ids are refused: every id of a job is held while it is validated."""


@dataclass(frozen=True)
class Request:
    custom_id: str
    body: dict[str, Any] | None
    """None when the line cannot be sent: `problem` says why."""
    problem: tuple[str, str] | None = None
    """(code, message) of a line answered in the error file without running."""


def numbered(stream: BinaryIO, max_bytes: int, start_line: int = 0) -> Iterator[tuple[int, bytes | None, int]]:
    """(0-based line number, the line or None when it is over `max_bytes`, the byte offset after it),
    from where `stream` stands; no more than `max_bytes` of a line is ever held."""
    number = start_line
    offset = stream.tell()
    while True:
        raw = stream.readline(max_bytes + 1)
        if not raw:
            return
        offset += len(raw)
        line: bytes | None = raw
        while len(raw) > max_bytes and not raw.endswith(b"\n"):
            line = None
            raw = stream.readline(max_bytes + 1)
            offset += len(raw)
        yield number, line if line is None or len(line) <= max_bytes else None, offset
        number += 1


def custom_id(raw: bytes | None, line: int, max_bytes: int) -> str | LineError:
    """The line's custom_id, or why it has none (`line` is 1-based)."""
    if raw is None:
        return LineError("line_too_large", f"line {line} is over {max_bytes} bytes, the live routes' body limit", line)
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return LineError("invalid_json_line", f"line {line} is not JSON: {str(exc)[:200]}", line)
    if not isinstance(value, dict):
        return LineError("invalid_json_line", f"line {line} is not a JSON object", line)
    cid = value.get("custom_id")
    if not isinstance(cid, str) or not cid:
        return LineError("missing_custom_id", f"line {line} has no custom_id string", line, "custom_id")
    if len(cid) > MAX_CUSTOM_ID_CHARS:
        return LineError("invalid_custom_id", f"line {line}: custom_id is over {MAX_CUSTOM_ID_CHARS} characters",
                         line, "custom_id")
    return cid


def request(raw: bytes, endpoint: str) -> Request:
    """A validated line (custom_id known good) as the request to run, or the problem to answer."""
    value: dict[str, Any] = json.loads(raw)
    cid: str = value["custom_id"]
    method, url, body = value.get("method"), value.get("url"), value.get("body")
    if method != "POST":
        return Request(cid, None, ("invalid_method", f"method must be POST, not {str(method)[:40]!r}"))
    if url != endpoint:
        return Request(cid, None, ("invalid_url", f"url must be the batch's endpoint {endpoint}, not {str(url)[:80]!r}"))
    if not isinstance(body, dict):
        return Request(cid, None, ("invalid_body", "body must be a JSON object"))
    return Request(cid, body)


def blank(raw: bytes) -> bool:
    return not raw.strip()


__all__ = ["MAX_CUSTOM_ID_CHARS", "Request", "blank", "custom_id", "numbered", "request"]
