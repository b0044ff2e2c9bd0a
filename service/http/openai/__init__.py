"""OpenAI's dialect of the HTTP front: embeddings and models (routes, translate), and the Batch API's
files (files) and jobs (batches)."""

from __future__ import annotations

from service.http.openai.batches import BatchRoutes
from service.http.openai.files import FileRoutes
from service.http.openai.routes import OpenAIRoutes

__all__ = ["BatchRoutes", "FileRoutes", "OpenAIRoutes"]
