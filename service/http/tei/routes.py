"""Text Embeddings Inference's HTTP API: `/embed`, `/embed_all`, `/embed_sparse`, `/rerank` (a body with `texts`), `/tokenize`,
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
from service.http.body import JsonObject, json_object
from service.http.deadlines import deadline
from service.http.errors import answers
from service.http.fields import NONE
from service.http.tei import translate


class TeiRoutes:
    def __init__(self, app: Application, settings: Settings) -> None:
        self._app = app
        self._max_bytes = settings.max_message_bytes

    def routes(self) -> list[Route]:
        """`/rerank` is shared with Cohere's shape: service.http.cohere routes it here by its body."""
        return [
            Route("/embed", self.embed, methods=["POST"]),
            Route("/embed_all", self.embed_all, methods=["POST"]),
            Route("/embed_sparse", self.embed_sparse, methods=["POST"]),
            Route("/tokenize", self.tokenize, methods=["POST"]),
            Route("/decode", self.decode, methods=["POST"]),
            Route("/info", self.info, methods=["GET"]),
        ]

    @answers("tei", translate.EMBED)
    async def embed(self, request: Request) -> Response:
        call, single = translate.embed_call(await json_object(request, self._max_bytes))
        if single:
            request.state.json_params = translate.EMBED_ONE
        result = await self._app.embed(call, deadline=deadline(request))
        return JSONResponse(translate.vectors(result.embeddings))

    @answers("tei", translate.EMBED)
    async def embed_all(self, request: Request) -> Response:
        call = translate.embed_all_call(await json_object(request, self._max_bytes))
        result = await self._app.embed_tokens(call, deadline=deadline(request))
        return JSONResponse(translate.token_vectors(result))

    @answers("tei", translate.EMBED)
    async def embed_sparse(self, request: Request) -> Response:
        call = translate.embed_sparse_call(await json_object(request, self._max_bytes))
        result = await self._app.embed_sparse(call, deadline=deadline(request))
        return JSONResponse(translate.sparse_values(result))

    @answers("tei", translate.RERANK)
    async def rerank_body(self, body: JsonObject, request: Request) -> Response:
        call, raw = translate.rerank_call(body)
        result = await self._app.rerank(call, deadline=deadline(request))
        return JSONResponse(translate.ranks(result, raw))

    @answers("tei", NONE)
    async def tokenize(self, request: Request) -> Response:
        call = translate.tokenize_call(await json_object(request, self._max_bytes))
        result = await self._app.tokenize(call, deadline=deadline(request))
        return JSONResponse(translate.tokens(result))

    @answers("tei", translate.DECODE)
    async def decode(self, request: Request) -> Response:
        call, single = translate.decode_call(await json_object(request, self._max_bytes))
        result = await self._app.decode(call, deadline=deadline(request))
        return JSONResponse(result.texts[0] if single else result.texts)

    @answers("tei", NONE)
    async def info(self, request: Request) -> Response:
        return JSONResponse(translate.info(self._app.info()))
