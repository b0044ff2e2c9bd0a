"""Client for the embedroute gRPC embedding and reranking service.

    from embedroute_client import Client
    with Client("127.0.0.1:50051") as client:
        vectors = client.embed(["a text"], input_type="document")
"""

from __future__ import annotations

from ._convert import Chunk, HybridWeights, InputType, Precision, RerankResult, Scoring, SparseVector
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
    "HybridWeights",
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
    "Scoring",
    "UnauthenticatedError",
    "UnavailableError",
    "VectorSpaceMismatchError",
    "similarity",
]
