"""Client for the embedroute gRPC embedding and reranking service.

    from embedroute_client import Client
    with Client("127.0.0.1:50051") as client:
        vectors = client.embed(["a text"], input_type="document")
"""

from __future__ import annotations

from ._convert import Chunk, InputType, Precision, RerankResult, SparseVector
from .aio import AsyncClient
from .batch import Batch, BatchPage, BatchResult, EmbedLine, LineProblem, RerankLine
from .client import Client
from .errors import (
    DeadlineExceededError,
    EmbedrouteError,
    FieldViolation,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
    VectorSpaceMismatchError,
)
from .retry import RetryPolicy
from .similarity import similarity

__all__ = [
    "AsyncClient",
    "Batch",
    "BatchPage",
    "BatchResult",
    "Chunk",
    "Client",
    "DeadlineExceededError",
    "EmbedLine",
    "EmbedrouteError",
    "FieldViolation",
    "InputType",
    "InvalidArgumentError",
    "LineProblem",
    "NotFoundError",
    "Precision",
    "RerankLine",
    "RerankResult",
    "SparseVector",
    "ResourceExhaustedError",
    "RetryPolicy",
    "UnauthenticatedError",
    "UnavailableError",
    "VectorSpaceMismatchError",
    "similarity",
]
