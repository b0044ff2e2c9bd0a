"""The tei.v1 gRPC services (Text Embeddings Inference's contract) on the gRPC front.

    names = register(app, registrar)   # beside embedroute.v1; names for health and reflection
"""

from __future__ import annotations

from service.app import Application
from service.rpc.calls import Registrar
from service.rpc.generated.tei.v1 import tei_pb2, tei_pb2_grpc
from service.rpc.tei.servicers import (
    EmbedServicer,
    InfoServicer,
    PredictServicer,
    RerankServicer,
    TokenizeServicer,
)

_SERVICES = tei_pb2.DESCRIPTOR.services_by_name
INFO = _SERVICES["Info"].full_name
EMBED = _SERVICES["Embed"].full_name
PREDICT = _SERVICES["Predict"].full_name
RERANK = _SERVICES["Rerank"].full_name
TOKENIZE = _SERVICES["Tokenize"].full_name
SERVICE_NAMES = (INFO, EMBED, PREDICT, RERANK, TOKENIZE)


def register(app: Application, registrar: Registrar) -> tuple[str, ...]:
    """Adds the tei.v1 services; returns their full names."""
    tei_pb2_grpc.add_InfoServicer_to_server(InfoServicer(app), registrar)
    tei_pb2_grpc.add_EmbedServicer_to_server(EmbedServicer(app), registrar)
    tei_pb2_grpc.add_PredictServicer_to_server(PredictServicer(), registrar)
    tei_pb2_grpc.add_RerankServicer_to_server(RerankServicer(app), registrar)
    tei_pb2_grpc.add_TokenizeServicer_to_server(TokenizeServicer(app), registrar)
    return SERVICE_NAMES


__all__ = ["EMBED", "INFO", "PREDICT", "RERANK", "SERVICE_NAMES", "TOKENIZE", "register"]
