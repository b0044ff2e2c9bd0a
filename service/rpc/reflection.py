"""Server reflection that also resolves method symbols (`pkg.Service.Method`).

grpcio-reflection asks the protobuf descriptor pool for the file containing a symbol;
the upb-based pool of protobuf 5+ does not index methods, so `grpcurl describe
embedroute.v1.EmbedService.Embed` would fail with "Symbol not found". A method lives
in its service's file, so we answer with that.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.protobuf import descriptor_pool
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer

from service.rpc.calls import Registrar

SERVICE_NAME = "grpc.reflection.v1alpha.ServerReflection"


class MethodAwareReflection(ReflectionServicer):  # type: ignore[misc]  # grpc ships no types
    def _file_containing_symbol(self, request: Any, symbol: str) -> reflection_pb2.ServerReflectionResponse:
        response: reflection_pb2.ServerReflectionResponse = super()._file_containing_symbol(request, symbol)
        service_name, _, method = symbol.rpartition(".")
        if not response.HasField("error_response") or not service_name:
            return response
        pool = descriptor_pool.Default()
        try:
            service = pool.FindServiceByName(service_name)
        except KeyError:
            return response
        if method not in service.methods_by_name:
            return response
        resolved: reflection_pb2.ServerReflectionResponse = super()._file_containing_symbol(request, service_name)
        return resolved


def enable(service_names: Iterable[str], server: Registrar) -> None:
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
        MethodAwareReflection([*service_names, SERVICE_NAME]), server
    )
