"""The one place where domain errors become HTTP answers, in each API's own error body.

    OpenAI  {"error": {"message", "type", "param", "code", "violations"}}
    Cohere  {"message", "code", "violations"}            (Cohere's and Jina's clients read `message`)
    TEI     {"error", "error_type", "violations"}        (TEI's own shape; validation is 422 there)
    Ollama  {"error", "violations"}                       (Ollama's clients read `error`; busy is 503 there)

Status codes: invalid 400 (TEI 422), unknown model 404, body too large 413, overloaded 429
and unavailable 503 (both with Retry-After, and OpenAI's `retry-after-ms`, which its SDK
honours), deadline 504, missing key 401, anything else 500 - logged, because it is a bug.
`violations` lists every offending field by its JSON name (service.http.fields), so a
client fixes its request in one round trip, as with the gRPC API's BadRequest. As there, what an
answer repeats of the request is capped: each message at MAX_ECHO_CHARS, at most MAX_VIOLATIONS.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.core.errors import (
    DeadlineExceededError,
    EmbedrouteError,
    EngineError,
    MAX_VIOLATIONS,
    InvalidArgumentError,
    NotFoundError,
    PayloadTooLargeError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
    clip,
    nearest,
    retry_after,
)
from service.http.fields import JsonParams, json_param

Dialect = Literal["openai", "cohere", "tei", "ollama"]

log = logging.getLogger(__name__)


class BodyTooLargeError(PayloadTooLargeError):
    """The request body is over max_message_bytes; refused before it is parsed."""


_STATUS: dict[type[EmbedrouteError], int] = {
    InvalidArgumentError: 400,
    NotFoundError: 404,
    PayloadTooLargeError: 413,
    ResourceExhaustedError: 429,
    UnavailableError: 503,
    DeadlineExceededError: 504,
    UnauthenticatedError: 401,
    EngineError: 500,
}
_TEI_STATUS = {400: 422}
"""TEI answers validation errors with 422 Unprocessable Entity; its clients expect that."""
_OLLAMA_STATUS = {429: 503}
"""Ollama answers a full queue with 503 ("server busy"); its clients expect that."""
_OPENAI_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "invalid_request_error",
                 413: "invalid_request_error", 429: "rate_limit_error"}
_TEI_TYPES = {400: "Validation", 401: "Unauthorized", 404: "Validation", 413: "PayloadTooLarge", 429: "Overloaded",
              503: "Unhealthy"}


def status_of(error: EmbedrouteError) -> int:
    """The status of the nearest mapped class in the error's MRO."""
    return nearest(error, _STATUS, 500)


def error_response(dialect: Dialect, error: EmbedrouteError, params: JsonParams) -> Response:
    status, body = error_body(dialect, error, params)
    return JSONResponse(body, status_code=status, headers=_headers(error))


def error_body(dialect: Dialect, error: EmbedrouteError, params: JsonParams) -> tuple[int, dict[str, Any]]:
    """The status and body `dialect` answers `error` with (a batch line's error carries the same)."""
    status = status_of(error)
    violations = [
        {"param": clip(json_param(params, v.field)), "message": clip(v.description)}
        for v in (error.violations if isinstance(error, InvalidArgumentError) else [])[:MAX_VIOLATIONS]
    ]
    message = clip(error.message)
    body: dict[str, Any]
    if dialect == "openai":
        body = {"error": {"message": message, "type": _OPENAI_TYPES.get(status, "server_error"),
                          "param": violations[0]["param"] if violations else None, "code": error.reason.lower(),
                          "violations": violations}}
    elif dialect == "cohere":
        body = {"message": message, "code": error.reason, "violations": violations}
    elif dialect == "ollama":
        status = _OLLAMA_STATUS.get(status, status)
        body = {"error": message, "violations": violations}
    else:
        status = _TEI_STATUS.get(status, status)
        body = {"error": message, "error_type": _TEI_TYPES.get(status, _TEI_TYPES.get(status_of(error), "Backend")),
                "violations": violations}
    return status, body


def _headers(error: EmbedrouteError) -> dict[str, str]:
    seconds = retry_after(error)
    if seconds is not None:
        return {"retry-after": str(max(1, math.ceil(seconds))), "retry-after-ms": str(int(seconds * 1000))}
    if isinstance(error, UnauthenticatedError):
        return {"www-authenticate": "Bearer"}
    return {}


Endpoint = Callable[..., Awaitable[Response]]
"""An endpoint function or method: its last argument is the request."""


def answers(dialect: Dialect, params: JsonParams) -> Callable[[Endpoint], Endpoint]:
    """Wraps an endpoint: a domain error becomes `dialect`'s error body, its fields named by
    `params` (or by the table the endpoint put in `request.state.json_params`, when the body's
    shape decides it); anything else is logged and answered 500."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def wrapper(*args: Any) -> Response:
            request: Request = args[-1]
            try:
                return await endpoint(*args)
            except EmbedrouteError as exc:
                return error_response(dialect, exc, getattr(request.state, "json_params", params))
            except Exception as exc:
                log.exception("unexpected error in %s", endpoint.__qualname__)
                return error_response(dialect, EmbedrouteError(f"internal error: {type(exc).__name__}"), params)

        return wrapper

    return decorate


@dataclass
class LineState:
    """A batch line's `request.state`: the field table its errors name fields by, when the body's shape decides it."""

    json_params: JsonParams


async def line_answer(dialect: Dialect, params: JsonParams, run: Callable[[LineState], Awaitable[Any]]) -> tuple[int, Any]:
    """A batch line's answer: 200 and what `run` returns, or the status and error body the live
    route would have answered (service.batch records either)."""
    state = LineState(params)
    try:
        return 200, await run(state)
    except EmbedrouteError as exc:
        return error_body(dialect, exc, state.json_params)
    except Exception as exc:
        log.exception("unexpected error in a batch line")
        return error_body(dialect, EmbedrouteError(f"internal error: {type(exc).__name__}"), params)


def dialect_of(path: str) -> Dialect:
    """The API a path belongs to, for errors raised before its endpoint runs (a missing key)."""
    if path.startswith(("/v1/embeddings", "/v1/models", "/v1/files", "/v1/batches")):
        return "openai"
    if path.endswith("/rerank"):
        return "cohere"
    if path.startswith("/api/"):
        return "ollama"
    return "tei"


__all__ = [
    "BodyTooLargeError", "Dialect", "LineState", "answers", "dialect_of", "error_body", "error_response", "line_answer", "status_of",
]
