"""asyncio twin of `Client` on grpc.aio: same arguments, same results, awaitable."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

import grpc
import grpc.aio
import numpy.typing as npt

from . import _convert
from . import batch as _batch
from ._convert import Chunk, HybridWeights, InputType, Precision, RerankResult, Scoring, SparseVector
from .batch import Batch, BatchPage, BatchResult, EmbedLine, RerankLine
from ._proto.embedroute.v1 import batch_pb2, batch_pb2_grpc, embed_pb2, embed_pb2_grpc, model_pb2, model_pb2_grpc, rerank_pb2_grpc
from .errors import from_rpc_error
from .retry import RetryPolicy
from .similarity import similarity

_Response = TypeVar("_Response")


class AsyncClient:
    """`async with AsyncClient(target) as client: await client.embed([...])`."""

    similarity = staticmethod(similarity)

    def __init__(
        self,
        target: str,
        *,
        api_key: str | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        timeout: float | None = 30.0,
        retry: RetryPolicy = RetryPolicy(),
        options: Sequence[tuple[str, Any]] = (),
        expect_vector_space: str | None = None,
    ) -> None:
        if credentials is not None:
            self._channel = grpc.aio.secure_channel(target, credentials, options=list(options))
        else:
            self._channel = grpc.aio.insecure_channel(target, options=list(options))
        self._metadata: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {api_key}"),) if api_key else ()
        self._timeout = timeout
        self._retry = retry
        self._embedder = embed_pb2_grpc.EmbedServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._reranker = rerank_pb2_grpc.RerankServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._models = model_pb2_grpc.ModelServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._batches = batch_pb2_grpc.BatchServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._expect_space = expect_vector_space

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def embed(
        self,
        texts: str | Sequence[str],
        *,
        instruction: str | None = None,
        dimensions: int | None = None,
        input_type: InputType | None = None,
        normalize: bool = True,
        truncate: bool = False,
        precision: Precision = "float32",
        model: str = "",
        timeout: float | None = None,
        expect_vector_space: str | None = None,
        chunking: Literal["none", "mean"] = "none",
        chunk_size: int = 0,
        chunk_overlap: int = 0,
    ) -> npt.NDArray[Any]:
        """See `Client.embed`."""
        single = isinstance(texts, str)
        inputs = [texts] if isinstance(texts, str) else list(texts)
        options = _convert.embed_options(
            instruction=instruction, dimensions=dimensions, input_type=input_type,
            normalize=normalize, truncate=truncate, precision=precision,
            chunking=chunking, chunk_size=chunk_size, chunk_overlap=chunk_overlap,
        )
        request = embed_pb2.EmbedRequest(model=model, inputs=inputs, options=options)
        reply = await self._unary(self._embedder.Embed, request, timeout)
        _convert.check_space(expect_vector_space or self._expect_space, reply.vector_space_id, reply.model)
        vectors = _convert.matrix(reply.embeddings, precision)
        return vectors[0] if single else vectors

    async def embed_chunks(
        self,
        text: str,
        *,
        size: int = 0,
        overlap: int = 0,
        instruction: str | None = None,
        dimensions: int | None = None,
        input_type: InputType | None = None,
        normalize: bool = True,
        precision: Precision = "float32",
        model: str = "",
        timeout: float | None = None,
        expect_vector_space: str | None = None,
    ) -> list[Chunk]:
        """`text` cut by the server into chunks of at most `size` tokens (0: all one sequence of the
        model holds), each repeating at most `overlap` tokens of the one before, ends moved back to a
        sentence end or a space: each chunk's span, text and vector, in order."""
        options = _convert.embed_options(
            instruction=instruction, dimensions=dimensions, input_type=input_type, normalize=normalize,
            truncate=False, precision=precision, chunking="chunks", chunk_size=size, chunk_overlap=overlap,
        )
        request = embed_pb2.EmbedRequest(model=model, inputs=[text], options=options)
        reply = await self._unary(self._embedder.Embed, request, timeout)
        _convert.check_space(expect_vector_space or self._expect_space, reply.vector_space_id, reply.model)
        return _convert.text_chunks(text, reply.embeddings[0], precision)

    @overload  # a str is a Sequence[str] too; this one, listed first, wins for it
    async def embed_tokens(  # type: ignore[overload-overlap]
        self,
        texts: str,
        *,
        instruction: str | None = None,
        dimensions: int | None = None,
        input_type: InputType | None = None,
        normalize: bool = True,
        truncate: bool = False,
        precision: Precision = "float32",
        model: str = "",
        timeout: float | None = None,
        expect_vector_space: str | None = None,
    ) -> npt.NDArray[Any]: ...

    @overload
    async def embed_tokens(
        self,
        texts: Sequence[str],
        *,
        instruction: str | None = None,
        dimensions: int | None = None,
        input_type: InputType | None = None,
        normalize: bool = True,
        truncate: bool = False,
        precision: Precision = "float32",
        model: str = "",
        timeout: float | None = None,
        expect_vector_space: str | None = None,
    ) -> list[npt.NDArray[Any]]: ...

    async def embed_tokens(
        self,
        texts: str | Sequence[str],
        *,
        instruction: str | None = None,
        dimensions: int | None = None,
        input_type: InputType | None = None,
        normalize: bool = True,
        truncate: bool = False,
        precision: Precision = "float32",
        model: str = "",
        timeout: float | None = None,
        expect_vector_space: str | None = None,
    ) -> npt.NDArray[Any] | list[npt.NDArray[Any]]:
        """See `Client.embed_tokens`."""
        single = isinstance(texts, str)
        inputs = [texts] if isinstance(texts, str) else list(texts)
        options = _convert.embed_options(
            instruction=instruction, dimensions=dimensions, input_type=input_type,
            normalize=normalize, truncate=truncate, precision=precision,
        )
        request = embed_pb2.EmbedTokensRequest(model=model, inputs=inputs, options=options)
        reply = await self._unary(self._embedder.EmbedTokens, request, timeout)
        _convert.check_space(expect_vector_space or self._expect_space, reply.vector_space_id, reply.model)
        matrices = [_convert.matrix(t.vectors, precision) for t in reply.inputs]
        return matrices[0] if single else matrices

    @overload  # a str is a Sequence[str] too; this one, listed first, wins for it
    async def embed_sparse(  # type: ignore[overload-overlap]
        self,
        texts: str,
        *,
        instruction: str | None = None,
        input_type: InputType | None = None,
        truncate: bool = False,
        return_tokens: bool = False,
        model: str = "",
        timeout: float | None = None,
    ) -> SparseVector: ...

    @overload
    async def embed_sparse(
        self,
        texts: Sequence[str],
        *,
        instruction: str | None = None,
        input_type: InputType | None = None,
        truncate: bool = False,
        return_tokens: bool = False,
        model: str = "",
        timeout: float | None = None,
    ) -> list[SparseVector]: ...

    async def embed_sparse(
        self,
        texts: str | Sequence[str],
        *,
        instruction: str | None = None,
        input_type: InputType | None = None,
        truncate: bool = False,
        return_tokens: bool = False,
        model: str = "",
        timeout: float | None = None,
    ) -> SparseVector | list[SparseVector]:
        """See `Client.embed_sparse`."""
        single = isinstance(texts, str)
        inputs = [texts] if isinstance(texts, str) else list(texts)
        options = _convert.embed_options(
            instruction=instruction, dimensions=None, input_type=input_type,
            normalize=True, truncate=truncate, precision="float32",
        )
        request = embed_pb2.EmbedSparseRequest(model=model, inputs=inputs, options=options, return_tokens=return_tokens)
        reply = await self._unary(self._embedder.EmbedSparse, request, timeout)
        vectors = [_convert.sparse_vector(v) for v in reply.inputs]
        return vectors[0] if single else vectors

    async def embed_stream(
        self,
        texts: Iterable[str] | AsyncIterable[str],
        *,
        instruction: str | None = None,
        dimensions: int | None = None,
        input_type: InputType | None = None,
        normalize: bool = True,
        truncate: bool = False,
        precision: Precision = "float32",
        model: str = "",
        ordered: bool = True,
        timeout: float | None = None,
        expect_vector_space: str | None = None,
    ) -> AsyncGenerator[tuple[int, npt.NDArray[Any]], None]:
        """See `Client.embed_stream`; `texts` may also be an async iterable."""
        options = _convert.embed_options(
            instruction=instruction, dimensions=dimensions, input_type=input_type,
            normalize=normalize, truncate=truncate, precision=precision,
        )

        async def requests() -> AsyncIterator[embed_pb2.EmbedStreamRequest]:
            index = 0
            async for text in _aiter(texts):
                yield embed_pb2.EmbedStreamRequest(id=str(index), model=model, input=text, options=options)
                index += 1

        expected = expect_vector_space or self._expect_space
        reorder = _convert.Reorder()
        call = self._embedder.EmbedStream(requests(), timeout=timeout, metadata=self._metadata)
        try:
            async for reply in call:
                _convert.check_space(expected, reply.vector_space_id, reply.model)
                item = (int(reply.id), _convert.vector(reply.embedding, precision))
                for ready in reorder.push(*item) if ordered else [item]:
                    yield ready
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from exc
        finally:
            call.cancel()  # a consumer that stops early must not leave the server working
        if ordered:
            reorder.finish()

    async def vector_space(self, model: str = "", *, timeout: float | None = None) -> str:
        """The vector-space id of `model`'s normalised embeddings (the only embedding model when
        empty): store it with an index, then pass it as `expect_vector_space` when querying."""
        reply = await self._unary(self._models.ListModels, model_pb2.ListModelsRequest(), timeout)
        return _convert.space_of(reply.models, model)

    async def rerank(
        self,
        query: str,
        documents: Sequence[str],
        *,
        top_n: int | None = None,
        instruction: str | None = None,
        return_documents: bool = False,
        truncate: bool = False,
        scoring: Scoring | None = None,
        hybrid_weights: HybridWeights | None = None,
        model: str = "",
        timeout: float | None = None,
    ) -> list[RerankResult]:
        """See `Client.rerank`."""
        request = _convert.rerank_request(
            model, query, documents, top_n, instruction, return_documents, truncate, scoring, hybrid_weights
        )
        reply = await self._unary(self._reranker.Rerank, request, timeout)
        return _convert.rerank_results(reply.results, return_documents)

    async def rerank_stream(
        self,
        query: str,
        documents: Iterable[str],
        *,
        top_n: int | None = None,
        chunk_size: int = 64,
        instruction: str | None = None,
        return_documents: bool = False,
        truncate: bool = False,
        scoring: Scoring | None = None,
        hybrid_weights: HybridWeights | None = None,
        model: str = "",
        timeout: float | None = None,
    ) -> list[RerankResult]:
        """See `Client.rerank_stream`."""
        first = _convert.rerank_stream_first(
            model, query, top_n, instruction, return_documents, truncate, scoring, hybrid_weights
        )
        requests = _convert.rerank_stream_requests(first, _convert.chunks(documents, chunk_size))
        collected: list[RerankResult] = []
        try:
            async for reply in self._reranker.RerankStream(requests, timeout=timeout, metadata=self._metadata):
                results = _convert.rerank_results(reply.results, return_documents)
                if reply.final:
                    # The final message holds the top list only when one was asked for.
                    if top_n:
                        return results
                    break
                collected.extend(results)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from exc
        return _convert.best_first(collected, top_n or 0)

    async def submit_batch(
        self, lines: Iterable[EmbedLine | RerankLine] | AsyncIterable[EmbedLine | RerankLine], *,
        timeout: float | None = None,
    ) -> Batch:
        """Sends the lines as one job, streamed (any iterable, read as the server takes it), and
        returns the job (validating). Not retried: the lines are read once."""

        async def requests() -> AsyncIterator[batch_pb2.SubmitBatchRequest]:
            async for line in _aiter(lines):
                for request in _batch.requests([line]):
                    yield request

        try:
            reply = await self._batches.SubmitBatch(requests(), timeout=timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from exc
        return _batch.batch(reply.batch)

    async def batch(self, batch_id: str, *, timeout: float | None = None) -> Batch:
        reply = await self._unary(self._batches.GetBatch, batch_pb2.GetBatchRequest(batch_id=batch_id), timeout)
        return _batch.batch(reply.batch)

    async def list_batches(self, *, page_size: int = 0, page_token: str = "", timeout: float | None = None) -> BatchPage:
        """The caller's jobs, newest first, a page at a time (`page_size` 1 to 100; 0 means 20)."""
        request = batch_pb2.ListBatchesRequest(page_size=page_size, page_token=page_token)
        return _batch.page(await self._unary(self._batches.ListBatches, request, timeout))

    async def watch_batch(self, batch_id: str, *, timeout: float | None = None) -> AsyncGenerator[Batch, None]:
        """The job now, then each time its status or counts change; ends when the job does."""
        call = self._batches.WatchBatch(batch_pb2.WatchBatchRequest(batch_id=batch_id), timeout=timeout,
                                        metadata=self._metadata)
        try:
            async for reply in call:
                yield _batch.batch(reply.batch)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from exc
        finally:
            call.cancel()

    async def cancel_batch(self, batch_id: str, *, timeout: float | None = None) -> Batch:
        """Stops the job after the lines in flight (cancelling, then cancelled); its answered lines stay."""
        reply = await self._unary(self._batches.CancelBatch, batch_pb2.CancelBatchRequest(batch_id=batch_id), timeout)
        return _batch.batch(reply.batch)

    async def batch_results(self, batch_id: str, *, timeout: float | None = None) -> AsyncGenerator[BatchResult, None]:
        """A finished job's answers, each custom_id once: answered lines first, then failed ones."""
        call = self._batches.BatchResults(batch_pb2.BatchResultsRequest(batch_id=batch_id), timeout=timeout,
                                          metadata=self._metadata)
        try:
            async for reply in call:
                yield _batch.result(reply)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from exc
        finally:
            call.cancel()

    async def _unary(self, method: Callable[..., Awaitable[_Response]], request: Any, timeout: float | None) -> _Response:
        budget = timeout if timeout is not None else self._timeout
        deadline = None if budget is None else time.monotonic() + budget
        attempt = 1
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            try:
                return await method(request, timeout=remaining, metadata=self._metadata)
            except grpc.RpcError as exc:
                error = from_rpc_error(exc)
                left = None if deadline is None else deadline - time.monotonic()
                wait = self._retry.delay(error, attempt, left)
                if wait is None:
                    raise error from exc
            await asyncio.sleep(wait)
            attempt += 1


_Item = TypeVar("_Item")


async def _aiter(items: Iterable[_Item] | AsyncIterable[_Item]) -> AsyncIterator[_Item]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
