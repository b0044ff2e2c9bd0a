"""Cohere's and Jina's rerank dialect of the HTTP front: routes (routes) and JSON <-> core (translate)."""

from __future__ import annotations

from service.http.cohere.routes import CohereRoutes

__all__ = ["CohereRoutes"]
