"""Log set-up: one JSON object per line for log shippers, or plain text for people.

Every record written while a call is handled carries that call's `request_id`
(from the caller's `x-request-id`, else made up), so that one call's lines can be
found among many. Input texts and credentials are never logged: handlers log
counts and codes, not request fields.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import uuid
from typing import Any

from service.core.config import LogFormat

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
"""The id of the call being handled; set by each front's bookkeeping (`adopt_request_id`) for the call's task."""

REQUEST_ID_HEADER = "x-request-id"
"""The header (HTTP) and metadata key (gRPC) a caller's id comes in and every answer carries back."""

_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
"""A caller's id is used only when it cannot forge log structure or flood the log."""


def adopt_request_id(offered: object) -> str:
    """The call's id - the caller's when it is safe to log, else a new one - set for the call's task."""
    rid = offered if isinstance(offered, str) and _VALID_ID.fullmatch(offered) else uuid.uuid4().hex
    request_id.set(rid)
    return rid

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "color_message"}
"""Not copied into a JSON line: the record's own fields, and uvicorn's `color_message` (its message
again, with terminal colour codes)."""


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        rid = request_id.get()
        if rid and not hasattr(record, "request_id"):
            record.request_id = rid
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def at_least(level: str, floor: str) -> str:
    """The less verbose of two level names."""
    return max(level, floor, key=lambda name: logging.getLevelName(name.upper()))


def configure(log_format: LogFormat, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
