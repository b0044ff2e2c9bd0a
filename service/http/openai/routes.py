"""OpenAI's embeddings API: `POST /v1/embeddings` and `GET /v1/models` -> Application.

What the `openai` SDK, langchain-openai and every tool configured with an OpenAI base
URL send: `input` as a string, strings, token ids or lists of them (the application
decodes ids with the model's vocabulary, then embeds them as text); `model` may be empty
when one embedding model is served; `encoding_format` float or base64 (the SDK's
default). NIM's `input_type` (query / passage) and `truncate` (NONE / END) and our
`instruction` are extra body fields, defaulting as the gRPC API does (document, no
truncation).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.app import Application, ServedModel
from service.core.config import Settings
from service.http.body import json_object
from service.http.deadlines import deadline
from service.http.body import JsonObject
from service.http.errors import LineState, answers, line_answer
from service.http.fields import NONE
from service.http.openai import translate


class OpenAIRoutes:
    def __init__(self, app: Application, settings: Settings) -> None:
        self._app = app
        self._max_bytes = settings.max_message_bytes

    def routes(self) -> list[Route]:
        return [
            Route("/v1/embeddings", self.embeddings, methods=["POST"]),
            Route("/v1/models", self.list_models, methods=["GET"]),
            Route("/v1/models/{model_id:path}", self.get_model, methods=["GET"]),
        ]

    @answers("openai", translate.EMBED)
    async def embeddings(self, request: Request) -> Response:
        call, encoding, single = translate.embed_call(await json_object(request, self._max_bytes))
        if single:
            request.state.json_params = translate.EMBED_ONE
        result = await self._app.embed(call, deadline=deadline(request))
        return JSONResponse(translate.embeddings(result, encoding))

    async def embeddings_line(self, body: JsonObject) -> tuple[int, Any]:
        """A batch line's body answered as `POST /v1/embeddings` answers it (no deadline: a job has its window)."""

        async def run(state: LineState) -> dict[str, Any]:
            call, encoding, single = translate.embed_call(body)
            if single:
                state.json_params = translate.EMBED_ONE
            return translate.embeddings(await self._app.embed(call), encoding)

        return await line_answer("openai", translate.EMBED, run)

    @answers("openai", NONE)
    async def list_models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [self._model(m) for m in self._app.models()]})

    @answers("openai", NONE)
    async def get_model(self, request: Request) -> Response:
        return JSONResponse(self._model(self._app.model(request.path_params["model_id"])))

    def _model(self, served: ServedModel) -> dict[str, Any]:
        return translate.model(served, self._app.serves_rerank_by_cosine(served))
