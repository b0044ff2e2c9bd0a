"""embedroute.v1.RerankService: proto -> Application.rerank / rerank_stream -> proto."""

from __future__ import annotations

from collections.abc import AsyncIterator

from service.app import Application
from service.core.requests import RerankCall
from service.core.results import RerankChunkResult, RerankResult
from service.rpc import fields, translate
from service.rpc.context import Context, deadline
from service.rpc.generated.embedroute.v1 import rerank_pb2
from service.rpc.status import rpc_errors, stream_rpc_errors


async def rerank_response(app: Application, request: rerank_pb2.RerankRequest, until: float | None) -> rerank_pb2.RerankResponse:
    """What Rerank answers; also a batch line's (service.rpc.batch_lines), with no deadline."""
    result = await app.rerank(translate.rerank_call(request), deadline=until)
    return rerank_pb2.RerankResponse(
        model=result.model_id,
        results=translate.rerank_results(result),
        usage=translate.usage(result.usage),
        scoring=translate.scoring(result.scoring),
    )


class RerankServicer:
    def __init__(self, app: Application) -> None:
        self._app = app

    @rpc_errors(fields.RERANK)
    async def Rerank(self, request: rerank_pb2.RerankRequest, context: Context) -> rerank_pb2.RerankResponse:
        return await rerank_response(self._app, request, deadline(context))

    @stream_rpc_errors(fields.RERANK)
    async def RerankStream(
        self, request_iterator: AsyncIterator[rerank_pb2.RerankStreamRequest], context: Context
    ) -> AsyncIterator[rerank_pb2.RerankStreamResponse]:
        async def messages() -> AsyncIterator[RerankCall]:
            n = 0
            async for request in request_iterator:
                yield translate.rerank_stream_call(request, n)
                n += 1

        async for part in self._app.rerank_stream(messages(), deadline=deadline(context)):
            if isinstance(part, RerankChunkResult):
                yield _response(part.result, chunk=part.chunk)
            else:
                yield _response(part.result, final=True)


def _response(result: RerankResult, *, chunk: int = 0, final: bool = False) -> rerank_pb2.RerankStreamResponse:
    return rerank_pb2.RerankStreamResponse(
        model=result.model_id,
        chunk=chunk,
        final=final,
        results=translate.rerank_results(result),
        usage=translate.usage(result.usage),
        scoring=translate.scoring(result.scoring),
    )
