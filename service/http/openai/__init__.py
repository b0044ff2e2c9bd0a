"""OpenAI's embeddings dialect of the HTTP front: routes (routes) and JSON <-> core (translate)."""

from __future__ import annotations

from service.http.openai.routes import OpenAIRoutes

__all__ = ["OpenAIRoutes"]
