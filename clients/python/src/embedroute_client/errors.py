"""Server errors as exceptions that carry the decoded AIP-193 details.

The server sends a `google.rpc.Status` in the `grpc-status-details-bin` trailer; a caller
should not have to parse it to learn which field was wrong (BadRequest) or how long to
back off (RetryInfo), so every failed call surfaces as one of these classes instead of a
bare `grpc.RpcError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from google.protobuf import message as protobuf_message
from google.rpc import error_details_pb2, status_pb2

STATUS_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True)
class FieldViolation:
    """One offending request field, named by its proto path (e.g. `inputs[3]`)."""

    field: str
    description: str


class EmbedrouteError(Exception):
    """A failed call: canonical code, message and whatever details the server attached."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        reason: str = "",
        domain: str = "",
        metadata: Mapping[str, str] | None = None,
        field_violations: Iterable[FieldViolation] = (),
        retry_delay: float | None = None,
    ) -> None:
        super().__init__(f"{code.name}: {message}" + (f" ({reason})" if reason else ""))
        self.code = code
        self.message = message
        self.reason = reason
        self.domain = domain
        self.metadata: dict[str, str] = dict(metadata or {})
        self.field_violations: list[FieldViolation] = list(field_violations)
        self.retry_delay = retry_delay


class InvalidArgumentError(EmbedrouteError):
    """The request was refused as it stands; `field_violations` says what to change."""


class NotFoundError(EmbedrouteError):
    """Unknown model id."""


class ResourceExhaustedError(EmbedrouteError):
    """The server's queue is full; `retry_delay` is the back-off it asked for."""


class UnavailableError(EmbedrouteError):
    """Server starting, draining or its model failed; worth retrying elsewhere or later."""


class DeadlineExceededError(EmbedrouteError):
    """The call's deadline passed."""


class UnauthenticatedError(EmbedrouteError):
    """Missing or unknown API key."""


class VectorSpaceMismatchError(EmbedrouteError):
    """The server answered from another vector space than `expect_vector_space` named (another
    file, quant, pooling, template or normalisation): its vectors must not be mixed with yours,
    so none are returned. `expected` and `actual` are the two ids ("" when the server sends none)."""

    def __init__(self, expected: str, actual: str, model: str) -> None:
        super().__init__(
            grpc.StatusCode.FAILED_PRECONDITION,
            f"model {model!r} serves vector space {actual or '(none reported)'}, expected {expected}",
            reason="VECTOR_SPACE_MISMATCH",
            metadata={"expected": expected, "actual": actual, "model": model},
        )
        self.expected = expected
        self.actual = actual
        self.model = model


_CLASSES: dict[grpc.StatusCode, type[EmbedrouteError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
}


class _FailedCall(Protocol):
    """What both grpc.RpcError flavours (sync `Call`, `aio.AioRpcError`) offer."""

    def code(self) -> grpc.StatusCode: ...

    def details(self) -> str | None: ...

    def trailing_metadata(self) -> Any: ...


def from_rpc_error(error: grpc.RpcError) -> EmbedrouteError:
    """Decodes a failed call (sync or asyncio) into the matching exception class."""
    call: _FailedCall = error
    code = call.code()
    message = call.details() or ""
    fields: dict[str, Any] = {}
    status = _status_details(call.trailing_metadata())
    if status is not None:
        fields = _decode_details(status)
        message = status.message or message
    return _CLASSES.get(code, EmbedrouteError)(code, message, **fields)


def _status_details(trailing: Any) -> status_pb2.Status | None:
    for key, value in trailing or ():
        if key == STATUS_DETAILS_KEY:
            status = status_pb2.Status()
            try:
                status.ParseFromString(value)
            except protobuf_message.DecodeError:
                return None
            return status
    return None


def _decode_details(status: status_pb2.Status) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    info = error_details_pb2.ErrorInfo()
    bad_request = error_details_pb2.BadRequest()
    retry = error_details_pb2.RetryInfo()
    for detail in status.details:
        if detail.Is(info.DESCRIPTOR):
            detail.Unpack(info)
            fields.update(reason=info.reason, domain=info.domain, metadata=dict(info.metadata))
        elif detail.Is(bad_request.DESCRIPTOR):
            detail.Unpack(bad_request)
            fields["field_violations"] = [
                FieldViolation(v.field, v.description) for v in bad_request.field_violations
            ]
        elif detail.Is(retry.DESCRIPTOR):
            detail.Unpack(retry)
            fields["retry_delay"] = retry.retry_delay.ToNanoseconds() / 1e9
    return fields
