"""Bearer API keys: a shared secret per client, checked before any handler runs.

Health and reflection stay open so that Kubernetes probes and grpcurl's `list`
work without a key; every embedroute RPC needs `authorization: Bearer KEY`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import grpc.aio

from service.rpc.calls import CallRecorder
from service.core.errors import UnauthenticatedError
from service.core.keys import KeyRing, api_keys, read_api_keys
from service.rpc.status import abort

OPEN_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


class ApiKeyInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpc ships no types
    """Lets a call with a known key through to its (registered) handler; a refused call gets a handler
    that fails, with the recorder's bookkeeping so that it is counted and logged like any other."""

    def __init__(self, keys: frozenset[str], recorder: CallRecorder) -> None:
        self._keys = KeyRing(keys)
        self._recorder = recorder

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.startswith(OPEN_PREFIXES) or self._allowed(handler_call_details):
            return handler
        return self._recorder.wrap(method, _refusing(handler))

    def _allowed(self, details: grpc.HandlerCallDetails) -> bool:
        metadata = dict(details.invocation_metadata or ())
        return self._keys.allows(str(metadata.get("authorization", "")))


def _refusing(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """A handler of the same shape as `handler` that fails with UNAUTHENTICATED."""
    error = UnauthenticatedError("missing or unknown API key: send `authorization: Bearer KEY`")

    async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await abort(context, error)

    async def streaming(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await abort(context, error)
        yield  # pragma: no cover - makes this an async generator, as stream handlers must be

    codec = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(unary, **codec)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(streaming, **codec)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(unary, **codec)
    return grpc.stream_stream_rpc_method_handler(streaming, **codec)


__all__ = ["OPEN_PREFIXES", "ApiKeyInterceptor", "api_keys", "read_api_keys"]
