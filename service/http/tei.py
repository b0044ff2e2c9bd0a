"""Text Embeddings Inference's HTTP API: `/embed`, `/rerank` (a body with `texts`), `/tokenize`,
`/decode` and `/info` -> Application.

TEI clients (its Python and JS clients, LangChain's and LlamaIndex's TEI integrations)
get TEI's shapes: `/embed` answers a bare list of vectors and normalises by default,
`/rerank` a list of `{index, score, text?}` best first, validation errors are 422 with
`{error, error_type}`. `prompt_name` query / document picks the template's input type;
only Right truncation exists, since the template comes first.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.app import Application
from service.core.config import Settings
from service.http import fields, translate
from service.http.deadlines import deadline
from service.http.errors import answers

VERSION = "embedroute-0.1.0"


class TeiRoutes:
    def __init__(self, app: Application, settings: Settings) -> None:
        self._app = app
        self._settings = settings
        self._max_bytes = settings.max_message_bytes

    def routes(self) -> list[Route]:
        """`/rerank` is shared with Cohere's shape: service.http.rerank routes it here by its body."""
        return [
            Route("/embed", self.embed, methods=["POST"]),
            Route("/tokenize", self.tokenize, methods=["POST"]),
            Route("/decode", self.decode, methods=["POST"]),
            Route("/info", self.info, methods=["GET"]),
        ]

    @answers("tei", fields.TEI_EMBED)
    async def embed(self, request: Request) -> Response:
        call, single = translate.tei_embed(await translate.json_object(request, self._max_bytes))
        if single:
            request.state.json_params = fields.TEI_EMBED_ONE
        result = await self._app.embed(call, deadline=deadline(request))
        return JSONResponse(translate.tei_vectors(result.embeddings))

    @answers("tei", fields.TEI_RERANK)
    async def rerank_body(self, body: translate.JsonObject, request: Request) -> Response:
        call, raw = translate.tei_rerank(body)
        result = await self._app.rerank(call, deadline=deadline(request))
        return JSONResponse(translate.tei_ranks(result, raw))

    @answers("tei", fields.NONE)
    async def tokenize(self, request: Request) -> Response:
        body = await translate.json_object(request, self._max_bytes)
        call = translate.tei_tokenize(body, self._app.primary_model().model_id)
        result = await self._app.tokenize(call, deadline=deadline(request))
        return JSONResponse(translate.tei_tokens(result))

    @answers("tei", fields.TEI_DECODE)
    async def decode(self, request: Request) -> Response:
        body = await translate.json_object(request, self._max_bytes)
        call, single = translate.tei_decode(body, self._app.primary_model().model_id)
        result = await self._app.decode(call, deadline=deadline(request))
        return JSONResponse(result.texts[0] if single else result.texts)

    @answers("tei", fields.NONE)
    async def info(self, request: Request) -> Response:
        return JSONResponse(translate.tei_info(self._app.primary_model(), self._settings, VERSION))
