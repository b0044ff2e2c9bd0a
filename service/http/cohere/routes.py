"""Cohere / Jina rerank: `POST /v1/rerank`, `/v2/rerank` and `/rerank` -> Application.rerank.

Documents as strings or `{text}` objects, `top_n`, `return_documents`; results best
first with `index` and `relevance_score`. With no reranker served the scores are the
cosine fallback's, and the answer says so (`scoring: "cosine"` and a warning in `meta`),
as the gRPC API's `scoring` does; a body may ask `scoring: "maxsim"` (late interaction),
`"cosine"` over an embedding model, or `"hybrid"` (BGE-M3's dense + sparse + ColBERT score, weights in
`hybrid_weights: {dense, sparse, colbert}`). `/rerank` is also TEI's route: a body with `texts`
(TEI's name for the documents) is answered as TEI answers it (service.http.tei).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.app import Application
from service.core import logs
from service.core.config import Settings
from service.http.body import JsonObject, json_object
from service.http.cohere import translate
from service.http.deadlines import deadline
from service.http.errors import LineState, answers, line_answer
from service.http.tei import TeiRoutes


class CohereRoutes:
    def __init__(self, app: Application, settings: Settings, tei: TeiRoutes) -> None:
        self._app = app
        self._max_bytes = settings.max_message_bytes
        self._tei = tei

    def routes(self) -> list[Route]:
        return [
            Route("/v1/rerank", self.rerank, methods=["POST"]),
            Route("/v2/rerank", self.rerank, methods=["POST"]),
            Route("/rerank", self.cohere_or_tei, methods=["POST"]),
        ]

    @answers("cohere", translate.RERANK)
    async def cohere_or_tei(self, request: Request) -> Response:
        body = await json_object(request, self._max_bytes)
        if "texts" in body and "documents" not in body:
            return await self._tei.rerank_body(body, request)
        return await self._rerank(body, request)

    @answers("cohere", translate.RERANK)
    async def rerank(self, request: Request) -> Response:
        return await self._rerank(await json_object(request, self._max_bytes), request)

    async def rerank_line(self, body: JsonObject) -> tuple[int, Any]:
        """A batch line's Cohere body answered as `POST /v1/rerank` answers it."""

        async def run(_: LineState) -> dict[str, Any]:
            return translate.results(await self._app.rerank(translate.rerank_call(body)), logs.request_id.get())

        return await line_answer("cohere", translate.RERANK, run)

    async def _rerank(self, body: JsonObject, request: Request) -> Response:
        result = await self._app.rerank(translate.rerank_call(body), deadline=deadline(request))
        return JSONResponse(translate.results(result, logs.request_id.get()))
