"""The llama.cpp engine: loads GGUF files and turns text into vectors and rerank scores.

No gRPC here; the service and the benchmark both use it directly.
"""

from __future__ import annotations

from service.engine.model import Model, load_model
from service.engine.types import EmbedOptions, Embedding, EngineSettings, GgufDescription, PreparedInput, RerankScore

__all__ = [
    "EmbedOptions",
    "Embedding",
    "EngineSettings",
    "GgufDescription",
    "Model",
    "PreparedInput",
    "RerankScore",
    "load_model",
]
