"""The llama.cpp engine: loads GGUF files and turns token sequences into vectors and rerank scores.

It imports only the core (types, errors, GGUF reading): no transport, no scheduler. The
application and the benchmark both use it directly.
"""

from __future__ import annotations

from service.engine.model import Model, load_model

__all__ = ["Model", "load_model"]
