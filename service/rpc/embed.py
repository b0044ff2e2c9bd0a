"""embedroute.v1.EmbedService: proto -> Application.embed / embed_stream / embed_tokens / embed_sparse -> proto."""

from __future__ import annotations

from collections.abc import AsyncIterator

from service.app import Application
from service.core.requests import EmbedStreamItem
from service.rpc import fields, translate
from service.rpc.context import Context, deadline
from service.rpc.generated.embedroute.v1 import embed_pb2
from service.rpc.status import rpc_errors, stream_rpc_errors


async def embed_response(app: Application, request: embed_pb2.EmbedRequest, until: float | None) -> embed_pb2.EmbedResponse:
    """What Embed answers; also a batch line's (service.rpc.batch_lines), with no deadline."""
    call = translate.embed_call(request)
    result = await app.embed(call, deadline=until)
    return embed_pb2.EmbedResponse(
        model=result.model_id,
        embeddings=translate.embeddings(result.embeddings, call.encoding),
        usage=translate.usage(result.usage),
        vector_space_id=result.vector_space_id,
        dimensions=result.dimensions,
    )


class EmbedServicer:
    """Does not subclass the generated base: it only supplies UNIMPLEMENTED defaults."""

    def __init__(self, app: Application) -> None:
        self._app = app

    @rpc_errors(fields.EMBED)
    async def Embed(self, request: embed_pb2.EmbedRequest, context: Context) -> embed_pb2.EmbedResponse:
        return await embed_response(self._app, request, deadline(context))

    @rpc_errors(fields.EMBED)
    async def EmbedTokens(self, request: embed_pb2.EmbedTokensRequest, context: Context) -> embed_pb2.EmbedTokensResponse:
        call = translate.embed_tokens_call(request)
        result = await self._app.embed_tokens(call, deadline=deadline(context))
        return embed_pb2.EmbedTokensResponse(
            model=result.model_id,
            inputs=[translate.token_vectors(i, t, call.encoding) for i, t in enumerate(result.inputs)],
            usage=translate.usage(result.usage),
            vector_space_id=result.vector_space_id,
            dimensions=result.dimensions,
        )

    @rpc_errors(fields.EMBED)
    async def EmbedSparse(self, request: embed_pb2.EmbedSparseRequest, context: Context) -> embed_pb2.EmbedSparseResponse:
        call = translate.embed_sparse_call(request)
        result = await self._app.embed_sparse(call, pieces=request.return_tokens, deadline=deadline(context))
        return embed_pb2.EmbedSparseResponse(
            model=result.model_id,
            inputs=translate.sparse_vectors(result),
            usage=translate.usage(result.usage),
            vector_space_id=result.vector_space_id,
        )

    @stream_rpc_errors(fields.EMBED_STREAM)
    async def EmbedStream(
        self, request_iterator: AsyncIterator[embed_pb2.EmbedStreamRequest], context: Context
    ) -> AsyncIterator[embed_pb2.EmbedStreamResponse]:
        async def items() -> AsyncIterator[EmbedStreamItem]:
            async for request in request_iterator:
                yield translate.embed_stream_item(request)

        async for done in self._app.embed_stream(items(), deadline=deadline(context)):
            result = done.result
            yield embed_pb2.EmbedStreamResponse(
                id=done.item.id,
                model=result.model_id,
                embedding=translate.embedding(0, result.embeddings[0], done.item.call.encoding),
                usage=translate.usage(result.usage),
                vector_space_id=result.vector_space_id,
                dimensions=result.dimensions,
            )
