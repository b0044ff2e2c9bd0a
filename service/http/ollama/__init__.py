"""Ollama's embedding dialect of the HTTP front: routes (routes) and JSON <-> core (translate)."""

from __future__ import annotations

from service.http.ollama.routes import OllamaRoutes

__all__ = ["OllamaRoutes"]
