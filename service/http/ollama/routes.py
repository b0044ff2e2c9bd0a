"""Ollama's embedding API: `POST /api/embed`, `POST /api/embeddings`, `GET /api/tags`,
`POST /api/show` and `GET /api/version` -> Application.

What Ollama's own Python client and LangChain's `OllamaEmbeddings` call, so that they
work against embedroute unchanged. Errors are Ollama's `{"error": ...}` (service.http.errors).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.app import Application
from service.core.config import Settings
from service.http.body import json_object
from service.http.deadlines import deadline
from service.http.errors import answers
from service.http.fields import NONE
from service.http.ollama import translate


class OllamaRoutes:
    def __init__(self, app: Application, settings: Settings) -> None:
        self._app = app
        self._max_bytes = settings.max_message_bytes

    def routes(self) -> list[Route]:
        return [
            Route("/api/embed", self.embed, methods=["POST"]),
            Route("/api/embeddings", self.embeddings, methods=["POST"]),
            Route("/api/tags", self.tags, methods=["GET"]),
            Route("/api/show", self.show, methods=["POST"]),
            Route("/api/version", self.version, methods=["GET"]),
        ]

    @answers("ollama", translate.EMBED)
    async def embed(self, request: Request) -> Response:
        call, single = translate.embed_call(await json_object(request, self._max_bytes))
        if single:
            request.state.json_params = translate.EMBED_ONE
        return JSONResponse(translate.embed(await self._app.embed(call, deadline=deadline(request))))

    @answers("ollama", translate.EMBEDDINGS)
    async def embeddings(self, request: Request) -> Response:
        call = translate.embeddings_call(await json_object(request, self._max_bytes))
        return JSONResponse(translate.embedding(await self._app.embed(call, deadline=deadline(request))))

    @answers("ollama", NONE)
    async def tags(self, request: Request) -> Response:
        return JSONResponse(translate.tags(self._app.models()))

    @answers("ollama", NONE)
    async def show(self, request: Request) -> Response:
        body = await json_object(request, self._max_bytes)
        return JSONResponse(translate.show(self._app.model(translate.model_name(body))))

    @answers("ollama", NONE)
    async def version(self, request: Request) -> Response:
        return JSONResponse({"version": self._app.version})
