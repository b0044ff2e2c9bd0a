"""The one error tree of embedroute.

Every layer below the RPC front end (validation, scheduler, engine, router) raises
one of these; the front end turns them into a gRPC status in exactly one place
(`service.rpc.status`). Nothing here knows about gRPC, so the engine stays usable on
its own.

    EmbedrouteError
    ├── InvalidArgumentError          bad request; carries field violations
    │   └── InputTooLongError         over the context without truncate
    │       └── QueryTooLongError     a rerank query that leaves no room for documents
    ├── NotFoundError                 unknown model id (or batch file or job)
    ├── PayloadTooLargeError          a body or an uploaded file over its configured size
    ├── ResourceExhaustedError        queue full; carries a retry delay
    ├── UnavailableError              not loaded yet, draining, or model failed
    ├── DeadlineExceededError         the caller's deadline passed before the work ran
    ├── UnauthenticatedError          missing or wrong API key
    └── EngineError                   llama.cpp failed on input it accepted
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class FieldViolation:
    """One offending request field, named by the core's field name (e.g. `inputs[3]`, `dimensions`)."""

    field: str
    description: str


class EmbedrouteError(Exception):
    """Base of all domain errors; `reason` is the UPPER_SNAKE ErrorInfo reason (AIP-193)."""

    reason: str = "INTERNAL"

    def __init__(self, message: str, *, metadata: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.metadata = dict(metadata or {})


class InvalidArgumentError(EmbedrouteError):
    reason = "INVALID_ARGUMENT"

    def __init__(
        self,
        message: str,
        violations: list[FieldViolation] | None = None,
        *,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, metadata=metadata)
        self.violations = list(violations or [])
        if reason is not None:
            self.reason = reason

    @classmethod
    def for_field(cls, field: str, description: str, *, reason: str | None = None) -> InvalidArgumentError:
        return cls(description, [FieldViolation(field, description)], reason=reason)

    def at(self, field: str) -> InvalidArgumentError:
        """This error about the request field `field`: its violations name that field."""
        self.violations = [FieldViolation(field, v.description) for v in self.violations] or [
            FieldViolation(field, self.message)
        ]
        return self


class InputTooLongError(InvalidArgumentError):
    """Raised instead of silently truncating: the caller asked for exact vectors.

    The engine raises it with the numbers only; the application names the input (`at`)."""

    def __init__(self, n_tokens: int, limit: int) -> None:
        description = (
            f"input is {n_tokens} tokens, the model accepts at most {limit}; "
            "shorten it or set truncate=true"
        )
        super().__init__(
            description,
            reason="INPUT_TOO_LONG",
            metadata={"n_tokens": str(n_tokens), "limit": str(limit)},
        )
        self.n_tokens = n_tokens
        self.limit = limit


class QueryTooLongError(InputTooLongError):
    """A rerank query whose prompt leaves no room for the document: with truncate on, every document
    would be cut away and score the same, so it is refused even then, and blamed on the query."""

    def __init__(self, n_tokens: int, limit: int, room: int) -> None:
        super().__init__(n_tokens, limit)
        self.message = (
            f"the query with its instruction and template is {n_tokens} tokens, leaving {max(room, 0)} of the "
            f"model's {limit} for each document; shorten the query"
        )
        self.args = (self.message,)


class NotFoundError(EmbedrouteError):
    reason = "MODEL_NOT_FOUND"


class PayloadTooLargeError(EmbedrouteError):
    """What the caller sends is over a configured size (a body, an uploaded file); refused unread."""

    reason = "REQUEST_TOO_LARGE"


class ResourceExhaustedError(EmbedrouteError):
    reason = "OVERLOADED"

    def __init__(self, message: str, *, retry_after_s: float = 0.5) -> None:
        super().__init__(message, metadata={"retry_after_ms": str(int(retry_after_s * 1000))})
        self.retry_after_s = retry_after_s


class UnavailableError(EmbedrouteError):
    reason = "UNAVAILABLE"

    def __init__(self, message: str, *, reason: str | None = None, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason
        self.retry_after_s = retry_after_s


class DeadlineExceededError(EmbedrouteError):
    reason = "DEADLINE_EXCEEDED"


class UnauthenticatedError(EmbedrouteError):
    reason = "UNAUTHENTICATED"


class EngineError(EmbedrouteError):
    reason = "ENGINE_FAILURE"


MAX_ECHO_CHARS = 256
"""What an error repeats of a request (a model name, a header's value) is cut to this many
characters by every front: a 5 MB model name must not come back as a 5 MB answer."""
MAX_VIOLATIONS = 10
"""Field violations an answer lists at most; the message still says how many there were."""


def clip(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def nearest(error: EmbedrouteError, table: Mapping[type[EmbedrouteError], T], default: T) -> T:
    """What `table` maps the error's nearest class to (a front's code or status per class)."""
    for cls in type(error).__mro__:
        if cls in table:
            return table[cls]
    return default


def retry_after(error: EmbedrouteError) -> float | None:
    """The delay a client should wait before retrying, for the errors that have one."""
    if isinstance(error, (ResourceExhaustedError, UnavailableError)):
        return error.retry_after_s
    return None

