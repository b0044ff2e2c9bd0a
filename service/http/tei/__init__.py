"""Text Embeddings Inference's dialect of the HTTP front: routes (routes) and JSON <-> core (translate)."""

from __future__ import annotations

from service.http.tei.routes import TeiRoutes

__all__ = ["TeiRoutes"]
