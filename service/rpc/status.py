"""The one place where domain errors become gRPC statuses (AIP-193 rich errors).

Every handler is wrapped by `rpc_errors` (or `stream_rpc_errors`) with its method's
field table (service.rpc.fields): a domain error turns into its canonical code plus a
`google.rpc.Status` in the `grpc-status-details-bin` trailer with exactly one
ErrorInfo (reason, domain "embedroute.dev", metadata), BadRequest field violations
named by their proto paths for INVALID_ARGUMENT (the first ten; the message counts
them all), and RetryInfo for RESOURCE_EXHAUSTED / UNAVAILABLE. Only an exception that is not a domain error becomes INTERNAL, and it is
logged, because it is a bug.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import grpc
import grpc.aio
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from service.core import logs
from service.core.errors import (
    DeadlineExceededError,
    EmbedrouteError,
    MAX_VIOLATIONS,
    EngineError,
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
from service.rpc.fields import FieldPaths, proto_path

ERROR_DOMAIN = "embedroute.dev"

log = logging.getLogger(__name__)

_CODES: dict[type[EmbedrouteError], int] = {
    InvalidArgumentError: code_pb2.INVALID_ARGUMENT,
    NotFoundError: code_pb2.NOT_FOUND,
    PayloadTooLargeError: code_pb2.RESOURCE_EXHAUSTED,
    ResourceExhaustedError: code_pb2.RESOURCE_EXHAUSTED,
    UnavailableError: code_pb2.UNAVAILABLE,
    DeadlineExceededError: code_pb2.DEADLINE_EXCEEDED,
    UnauthenticatedError: code_pb2.UNAUTHENTICATED,
    EngineError: code_pb2.INTERNAL,
}


def code_of(error: EmbedrouteError) -> int:
    """The canonical code of the nearest mapped class in the error's MRO."""
    internal: int = code_pb2.INTERNAL
    return nearest(error, _CODES, internal)


MAX_DETAIL_CHARS = 160
"""What a status repeats of the request is capped (the message at MAX_ECHO_CHARS, the details here, at
most MAX_VIOLATIONS of them): the message, the details and the request id all
travel in the trailers, which a client refuses past its metadata limit (8 KiB by default), and it
would then see RESOURCE_EXHAUSTED - which it retries - instead of the real error."""


def to_status_proto(error: EmbedrouteError, paths: FieldPaths | None = None) -> status_pb2.Status:
    metadata = {clip(k, MAX_DETAIL_CHARS): clip(v, MAX_DETAIL_CHARS) for k, v in error.metadata.items()}
    details = [error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN, metadata=metadata)]
    if isinstance(error, InvalidArgumentError) and error.violations:
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=clip(proto_path(paths, v.field), MAX_DETAIL_CHARS),
                        description=clip(v.description, MAX_DETAIL_CHARS),
                    )
                    for v in error.violations[:MAX_VIOLATIONS]
                ]
            )
        )
    delay_s = retry_after(error)
    if delay_s is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(delay_s * 1e9))
        details.append(error_details_pb2.RetryInfo(retry_delay=delay))
    packed = []
    for detail in details:
        holder = any_pb2.Any()
        holder.Pack(detail)
        packed.append(holder)
    message = clip(error.message)
    return status_pb2.Status(code=code_of(error), message=message, details=packed)


_LINE_STATUSES: dict[type[EmbedrouteError], int] = {
    InvalidArgumentError: 400,
    UnauthenticatedError: 401,
    NotFoundError: 404,
    PayloadTooLargeError: 413,
    ResourceExhaustedError: 429,
    UnavailableError: 503,
    DeadlineExceededError: 504,
}


def line_error(error: EmbedrouteError) -> tuple[int, dict[str, Any]]:
    """A batch line's error as service.batch records it: the HTTP-style status its runner reads (it
    retries 429 and 503: a busy server delays a job, it does not fail its lines) and the body the
    line's BatchLineError is read back from (the code, message and reason the live call would end with)."""
    internal = 500
    body = {"code": code_of(error), "message": clip(error.message), "reason": error.reason}
    return nearest(error, _LINE_STATUSES, internal), body


async def abort(
    context: grpc.aio.ServicerContext[Any, Any], error: EmbedrouteError, paths: FieldPaths | None = None
) -> NoReturn:
    status = rpc_status.to_status(to_status_proto(error, paths))
    trailing = tuple(status.trailing_metadata)
    if rid := logs.request_id.get():  # abort replaces the trailers: keep the call's request id in them
        trailing += ((logs.REQUEST_ID_HEADER, rid),)
    await context.abort(status.code, status.details, trailing)
    raise AssertionError("context.abort returned")  # abort always raises; this keeps NoReturn honest


_Resp = TypeVar("_Resp")


async def _abort_for(
    context: grpc.aio.ServicerContext[Any, Any], exc: Exception, where: str, paths: FieldPaths
) -> None:
    """Domain errors become their rich status; an abort already under way passes through;
    anything else is logged and answered INTERNAL. `abort` raises, so this returns only
    for an AbortError, which the caller re-raises."""
    if isinstance(exc, grpc.aio.AbortError):
        return
    if not isinstance(exc, EmbedrouteError):
        log.exception("unexpected error in %s", where)
        exc = EmbedrouteError(f"internal error: {type(exc).__name__}")
    await abort(context, exc, paths)


def rpc_errors(
    paths: FieldPaths,
) -> Callable[[Callable[..., Awaitable[_Resp]]], Callable[..., Awaitable[_Resp]]]:
    """Wraps a unary-response handler: domain errors -> rich status, their fields named by `paths`;
    anything else -> logged INTERNAL."""

    def decorate(handler: Callable[..., Awaitable[_Resp]]) -> Callable[..., Awaitable[_Resp]]:
        @functools.wraps(handler)
        async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> _Resp:
            try:
                return await handler(self, request, context)
            except Exception as exc:
                await _abort_for(context, exc, handler.__qualname__, paths)
                raise

        return wrapper

    return decorate


def stream_rpc_errors(
    paths: FieldPaths,
) -> Callable[[Callable[..., AsyncIterator[_Resp]]], Callable[..., AsyncIterator[_Resp]]]:
    """The streaming-response twin of `rpc_errors`."""

    def decorate(handler: Callable[..., AsyncIterator[_Resp]]) -> Callable[..., AsyncIterator[_Resp]]:
        @functools.wraps(handler)
        async def wrapper(
            self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[_Resp]:
            try:
                async for response in handler(self, request, context):
                    yield response
            except Exception as exc:
                await _abort_for(context, exc, handler.__qualname__, paths)
                raise

        return wrapper

    return decorate
