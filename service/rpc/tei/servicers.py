"""tei.v1's services over the Application: TEI's gRPC clients talk to embedroute unchanged.

Registered on the gRPC port beside embedroute.v1 (service.rpc.server), with the same
call bookkeeping, API keys and status mapping (service.rpc.status, with this package's
field tables). What TEI serves and embedroute cannot (classification) answers UNIMPLEMENTED with
a message saying what to use instead. EmbedStream, EmbedSparseStream and EmbedAllStream answer
in request order, as TEI does (the application holds results back until their turn);
RerankStream answers once, with every chunk merged by the application.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol, TypeVar

import grpc

from service.app import Application
from service.core.requests import EmbedCall, EmbedStreamItem, RerankCall
from service.core.results import SparseEmbedResult, TokenEmbedResult
from service.rpc.context import Context, deadline
from service.rpc.generated.tei.v1 import tei_pb2
from service.rpc.status import rpc_errors, stream_rpc_errors
from service.rpc.tei import fields, translate


class _OneInput(Protocol):
    """What every TEI embedding message has: one input."""

    @property
    def inputs(self) -> str: ...


M = TypeVar("M", bound=_OneInput)


async def _unimplemented(context: Context, what: str) -> None:
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"embedroute does not serve {what}; use tei.v1.Embed/Embed")


class InfoServicer:
    def __init__(self, app: Application) -> None:
        self._app = app

    @rpc_errors(fields.INFO)
    async def Info(self, request: tei_pb2.InfoRequest, context: Context) -> tei_pb2.InfoResponse:
        return translate.info(self._app.info())


class EmbedServicer:
    def __init__(self, app: Application) -> None:
        self._app = app

    @rpc_errors(fields.EMBED)
    async def Embed(self, request: tei_pb2.EmbedRequest, context: Context) -> tei_pb2.EmbedResponse:
        result = await self._app.embed(translate.embed_call(request), deadline=deadline(context))
        return tei_pb2.EmbedResponse(
            embeddings=result.embeddings[0].vector.tolist(), metadata=translate.metadata(result.usage, len(request.inputs))
        )

    @stream_rpc_errors(fields.EMBED)
    async def EmbedStream(
        self, request_iterator: AsyncIterator[tei_pb2.EmbedRequest], context: Context
    ) -> AsyncIterator[tei_pb2.EmbedResponse]:
        chars: dict[str, int] = {}
        items = _numbered(request_iterator, translate.embed_call, chars)
        async for done in self._app.embed_stream(items, deadline=deadline(context), ordered=True):
            yield tei_pb2.EmbedResponse(
                embeddings=done.result.embeddings[0].vector.tolist(),
                metadata=translate.metadata(done.result.usage, chars.pop(done.item.id)),
            )

    @rpc_errors(fields.EMBED)
    async def EmbedSparse(self, request: tei_pb2.EmbedSparseRequest, context: Context) -> tei_pb2.EmbedSparseResponse:
        result = await self._app.embed_sparse(translate.embed_sparse_call(request), deadline=deadline(context))
        return _sparse_response(result, len(request.inputs))

    @stream_rpc_errors(fields.EMBED)
    async def EmbedSparseStream(
        self, request_iterator: AsyncIterator[tei_pb2.EmbedSparseRequest], context: Context
    ) -> AsyncIterator[tei_pb2.EmbedSparseResponse]:
        chars: dict[str, int] = {}
        items = _numbered(request_iterator, translate.embed_sparse_call, chars)
        async for done in self._app.embed_sparse_stream(items, deadline=deadline(context), ordered=True):
            yield _sparse_response(done.result, chars.pop(done.item.id))

    @rpc_errors(fields.EMBED)
    async def EmbedAll(self, request: tei_pb2.EmbedAllRequest, context: Context) -> tei_pb2.EmbedAllResponse:
        result = await self._app.embed_tokens(translate.embed_all_call(request), deadline=deadline(context))
        return _all_response(result, len(request.inputs))

    @stream_rpc_errors(fields.EMBED)
    async def EmbedAllStream(
        self, request_iterator: AsyncIterator[tei_pb2.EmbedAllRequest], context: Context
    ) -> AsyncIterator[tei_pb2.EmbedAllResponse]:
        chars: dict[str, int] = {}
        items = _numbered(request_iterator, translate.embed_all_call, chars)
        async for done in self._app.embed_tokens_stream(items, deadline=deadline(context), ordered=True):
            yield _all_response(done.result, chars.pop(done.item.id))


def _sparse_response(result: SparseEmbedResult, chars: int) -> tei_pb2.EmbedSparseResponse:
    weights = result.inputs[0]
    return tei_pb2.EmbedSparseResponse(
        sparse_embeddings=[
            tei_pb2.SparseValue(index=i, value=v) for i, v in zip(weights.token_ids, weights.weights.tolist(), strict=True)
        ],
        metadata=translate.metadata(result.usage, chars),
    )


def _all_response(result: TokenEmbedResult, chars: int) -> tei_pb2.EmbedAllResponse:
    return tei_pb2.EmbedAllResponse(
        token_embeddings=[tei_pb2.TokenEmbedding(embeddings=row.tolist()) for row in result.inputs[0].vectors],
        metadata=translate.metadata(result.usage, chars),
    )


async def _numbered(
    requests: AsyncIterator[M], call: Callable[[M], EmbedCall], chars: dict[str, int]
) -> AsyncIterator[EmbedStreamItem]:
    """A TEI stream's messages as the application's items, numbered in request order; each one's
    characters kept for its answer's metadata."""
    n = 0
    async for request in requests:
        chars[str(n)] = len(request.inputs)
        yield EmbedStreamItem(str(n), call(request))
        n += 1


class PredictServicer:
    """Classification heads: not served (rerank with tei.v1.Rerank)."""

    async def Predict(self, request: Any, context: Context) -> Any:
        await _unimplemented(context, "classification (Predict)")

    async def PredictPair(self, request: Any, context: Context) -> Any:
        await _unimplemented(context, "classification (Predict)")

    async def PredictStream(self, request_iterator: Any, context: Context) -> AsyncIterator[Any]:
        await _unimplemented(context, "classification (Predict)")
        yield  # pragma: no cover

    async def PredictPairStream(self, request_iterator: Any, context: Context) -> AsyncIterator[Any]:
        await _unimplemented(context, "classification (Predict)")
        yield  # pragma: no cover


class RerankServicer:
    def __init__(self, app: Application) -> None:
        self._app = app

    @rpc_errors(fields.RERANK)
    async def Rerank(self, request: tei_pb2.RerankRequest, context: Context) -> tei_pb2.RerankResponse:
        result = await self._app.rerank(translate.rerank_call(request), deadline=deadline(context))
        chars = len(request.query) * len(request.texts) + sum(len(t) for t in request.texts)
        return tei_pb2.RerankResponse(
            ranks=translate.ranks(result.results, result.scoring, request.raw_scores),
            metadata=translate.metadata(result.usage, chars),
        )

    @rpc_errors(fields.RERANK_STREAM)
    async def RerankStream(
        self, request_iterator: AsyncIterator[tei_pb2.RerankStreamRequest], context: Context
    ) -> tei_pb2.RerankResponse:
        first: list[tei_pb2.RerankStreamRequest] = []
        chars = [0]

        async def messages() -> AsyncIterator[RerankCall]:
            n = 0
            async for request in request_iterator:
                first[:] = first or [request]
                chars[0] += len(first[0].query) + len(request.text)
                yield translate.rerank_stream_call(request, first[0], n)
                n += 1

        result = await self._app.rerank_merged(messages(), deadline=deadline(context))
        raw = bool(first) and first[0].raw_scores
        return tei_pb2.RerankResponse(
            ranks=translate.ranks(result.results, result.scoring, raw), metadata=translate.metadata(result.usage, chars[0])
        )


class TokenizeServicer:
    def __init__(self, app: Application) -> None:
        self._app = app

    @rpc_errors(fields.TOKENIZE)
    async def Tokenize(self, request: tei_pb2.EncodeRequest, context: Context) -> tei_pb2.EncodeResponse:
        call = translate.tokenize_call(request)
        return translate.tokens(await self._app.tokenize(call, deadline=deadline(context)))

    @stream_rpc_errors(fields.TOKENIZE)
    async def TokenizeStream(
        self, request_iterator: AsyncIterator[tei_pb2.EncodeRequest], context: Context
    ) -> AsyncIterator[tei_pb2.EncodeResponse]:
        async for request in request_iterator:
            call = translate.tokenize_call(request)
            yield translate.tokens(await self._app.tokenize(call, deadline=deadline(context)))

    @rpc_errors(fields.DECODE)
    async def Decode(self, request: tei_pb2.DecodeRequest, context: Context) -> tei_pb2.DecodeResponse:
        call = translate.decode_call(request)
        return tei_pb2.DecodeResponse(text=(await self._app.decode(call, deadline=deadline(context))).texts[0])

    @stream_rpc_errors(fields.DECODE)
    async def DecodeStream(
        self, request_iterator: AsyncIterator[tei_pb2.DecodeRequest], context: Context
    ) -> AsyncIterator[tei_pb2.DecodeResponse]:
        async for request in request_iterator:
            call = translate.decode_call(request)
            yield tei_pb2.DecodeResponse(text=(await self._app.decode(call, deadline=deadline(context))).texts[0])
