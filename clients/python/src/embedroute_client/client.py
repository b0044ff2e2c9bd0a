"""Blocking client: one channel, the embed / rerank surface, rich errors and retries."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

import grpc
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


class Client:
    """`Client("127.0.0.1:50051", api_key=...)`; a context manager that closes its channel.

    `timeout` is the default deadline (seconds) of each unary call, retries included;
    streams have no deadline unless one is passed, as they last as long as their input.
    `expect_vector_space` (an id from `vector_space()` or a response) makes every embed call
    raise VectorSpaceMismatchError instead of returning vectors from another space; a call's own
    `expect_vector_space` overrides it.
    """

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
            self._channel = grpc.secure_channel(target, credentials, options=list(options))
        else:
            self._channel = grpc.insecure_channel(target, options=list(options))
        self._metadata: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {api_key}"),) if api_key else ()
        self._timeout = timeout
        self._retry = retry
        self._embedder = embed_pb2_grpc.EmbedServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._reranker = rerank_pb2_grpc.RerankServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._models = model_pb2_grpc.ModelServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._batches = batch_pb2_grpc.BatchServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._expect_space = expect_vector_space

    def __enter__(self) -> Client:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def embed(
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
        """One vector for a string, a (len(texts), dims) matrix for a sequence, as
        sentence-transformers' `encode` returns. `precision` int8/ubinary return int8 values
        or packed bits (uint8)."""
        single = isinstance(texts, str)
        inputs = [texts] if isinstance(texts, str) else list(texts)
        options = _convert.embed_options(
            instruction=instruction, dimensions=dimensions, input_type=input_type,
            normalize=normalize, truncate=truncate, precision=precision,
            chunking=chunking, chunk_size=chunk_size, chunk_overlap=chunk_overlap,
        )
        request = embed_pb2.EmbedRequest(model=model, inputs=inputs, options=options)
        reply = self._unary(self._embedder.Embed, request, timeout)
        _convert.check_space(expect_vector_space or self._expect_space, reply.vector_space_id, reply.model)
        vectors = _convert.matrix(reply.embeddings, precision)
        return vectors[0] if single else vectors

    def embed_chunks(
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
        reply = self._unary(self._embedder.Embed, request, timeout)
        _convert.check_space(expect_vector_space or self._expect_space, reply.vector_space_id, reply.model)
        return _convert.text_chunks(text, reply.embeddings[0], precision)

    @overload  # a str is a Sequence[str] too; this one, listed first, wins for it
    def embed_tokens(  # type: ignore[overload-overlap]
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
    def embed_tokens(
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

    def embed_tokens(
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
        """Every token's vector of each input (late interaction, ColBERT-style MaxSim): a
        (n_tokens, dims) matrix for a string, a list of them for a sequence. The tokens are the
        prompt the model saw (template and special tokens included); `normalize` applies to
        each token's vector."""
        single = isinstance(texts, str)
        inputs = [texts] if isinstance(texts, str) else list(texts)
        options = _convert.embed_options(
            instruction=instruction, dimensions=dimensions, input_type=input_type,
            normalize=normalize, truncate=truncate, precision=precision,
        )
        request = embed_pb2.EmbedTokensRequest(model=model, inputs=inputs, options=options)
        reply = self._unary(self._embedder.EmbedTokens, request, timeout)
        _convert.check_space(expect_vector_space or self._expect_space, reply.vector_space_id, reply.model)
        matrices = [_convert.matrix(t.vectors, precision) for t in reply.inputs]
        return matrices[0] if single else matrices

    @overload  # a str is a Sequence[str] too; this one, listed first, wins for it
    def embed_sparse(  # type: ignore[overload-overlap]
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
    def embed_sparse(
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

    def embed_sparse(
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
        """BGE-M3's sparse (lexical) weights of each input, from the same one decode as its
        dense and ColBERT vectors: a SparseVector for a string, a list of them for a sequence.
        A model without the sparse head answers InvalidArgumentError."""
        single = isinstance(texts, str)
        inputs = [texts] if isinstance(texts, str) else list(texts)
        options = _convert.embed_options(
            instruction=instruction, dimensions=None, input_type=input_type,
            normalize=True, truncate=truncate, precision="float32",
        )
        request = embed_pb2.EmbedSparseRequest(model=model, inputs=inputs, options=options, return_tokens=return_tokens)
        reply = self._unary(self._embedder.EmbedSparse, request, timeout)
        vectors = [_convert.sparse_vector(v) for v in reply.inputs]
        return vectors[0] if single else vectors

    def embed_stream(
        self,
        texts: Iterable[str],
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
    ) -> Generator[tuple[int, npt.NDArray[Any]], None, None]:
        """Yields (index, vector) for any iterable of texts, read lazily as the server's
        flow control allows. `ordered=False` yields in completion order (lower latency)."""
        options = _convert.embed_options(
            instruction=instruction, dimensions=dimensions, input_type=input_type,
            normalize=normalize, truncate=truncate, precision=precision,
        )
        requests = (
            embed_pb2.EmbedStreamRequest(id=str(i), model=model, input=text, options=options)
            for i, text in enumerate(texts)
        )
        expected = expect_vector_space or self._expect_space
        reorder = _convert.Reorder()
        call = self._embedder.EmbedStream(requests, timeout=timeout, metadata=self._metadata)
        try:
            for reply in call:
                _convert.check_space(expected, reply.vector_space_id, reply.model)
                item = (int(reply.id), _convert.vector(reply.embedding, precision))
                yield from reorder.push(*item) if ordered else [item]
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from exc
        finally:
            call.cancel()  # a consumer that stops early must not leave the server working
        if ordered:
            reorder.finish()

    def vector_space(self, model: str = "", *, timeout: float | None = None) -> str:
        """The vector-space id of `model`'s normalised embeddings (the only embedding model when
        empty): store it with an index, then pass it as `expect_vector_space` when querying."""
        reply = self._unary(self._models.ListModels, model_pb2.ListModelsRequest(), timeout)
        return _convert.space_of(reply.models, model)

    def rerank(
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
        """Documents scored against the query, best first (at most `top_n`). `scoring` picks how
        (None: the reranker when one is served, else cosine over the embedding model; "cosine" and
        "maxsim" over an embedding model; "hybrid": BGE-M3's weighted dense + sparse + ColBERT
        score, with `hybrid_weights` or BGE-M3's own)."""
        request = _convert.rerank_request(
            model, query, documents, top_n, instruction, return_documents, truncate, scoring, hybrid_weights
        )
        reply = self._unary(self._reranker.Rerank, request, timeout)
        return _convert.rerank_results(reply.results, return_documents)

    def rerank_stream(
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
        """Reranks a candidate list too large for one message (any iterable), sent in
        chunks; returns the best `top_n` (all when None), best first."""
        first = _convert.rerank_stream_first(
            model, query, top_n, instruction, return_documents, truncate, scoring, hybrid_weights
        )
        requests = _convert.rerank_stream_requests(first, _convert.chunks(documents, chunk_size))
        collected: list[RerankResult] = []
        try:
            for reply in self._reranker.RerankStream(requests, timeout=timeout, metadata=self._metadata):
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

    def submit_batch(self, lines: Iterable[EmbedLine | RerankLine], *, timeout: float | None = None) -> Batch:
        """Sends the lines as one job, streamed (any iterable, read as the server takes it), and
        returns the job (validating). Not retried: the lines are read once."""
        try:
            reply = self._batches.SubmitBatch(_batch.requests(lines), timeout=timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from exc
        return _batch.batch(reply.batch)

    def batch(self, batch_id: str, *, timeout: float | None = None) -> Batch:
        reply = self._unary(self._batches.GetBatch, batch_pb2.GetBatchRequest(batch_id=batch_id), timeout)
        return _batch.batch(reply.batch)

    def list_batches(self, *, page_size: int = 0, page_token: str = "", timeout: float | None = None) -> BatchPage:
        """The caller's jobs, newest first, a page at a time (`page_size` 1 to 100; 0 means 20)."""
        request = batch_pb2.ListBatchesRequest(page_size=page_size, page_token=page_token)
        return _batch.page(self._unary(self._batches.ListBatches, request, timeout))

    def watch_batch(self, batch_id: str, *, timeout: float | None = None) -> Generator[Batch, None, None]:
        """The job now, then each time its status or counts change; ends when the job does."""
        call = self._batches.WatchBatch(batch_pb2.WatchBatchRequest(batch_id=batch_id), timeout=timeout,
                                        metadata=self._metadata)
        try:
            for reply in call:
                yield _batch.batch(reply.batch)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from exc
        finally:
            call.cancel()

    def cancel_batch(self, batch_id: str, *, timeout: float | None = None) -> Batch:
        """Stops the job after the lines in flight (cancelling, then cancelled); its answered lines stay."""
        reply = self._unary(self._batches.CancelBatch, batch_pb2.CancelBatchRequest(batch_id=batch_id), timeout)
        return _batch.batch(reply.batch)

    def batch_results(self, batch_id: str, *, timeout: float | None = None) -> Generator[BatchResult, None, None]:
        """A finished job's answers, each custom_id once: answered lines first, then failed ones."""
        call = self._batches.BatchResults(batch_pb2.BatchResultsRequest(batch_id=batch_id), timeout=timeout,
                                          metadata=self._metadata)
        try:
            for reply in call:
                yield _batch.result(reply)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from exc
        finally:
            call.cancel()

    def _unary(self, method: Callable[..., _Response], request: Any, timeout: float | None) -> _Response:
        budget = timeout if timeout is not None else self._timeout
        deadline = None if budget is None else time.monotonic() + budget
        attempt = 1
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            try:
                return method(request, timeout=remaining, metadata=self._metadata)
            except grpc.RpcError as exc:
                error = from_rpc_error(exc)
                left = None if deadline is None else deadline - time.monotonic()
                wait = self._retry.delay(error, attempt, left)
                if wait is None:
                    raise error from exc
            time.sleep(wait)
            attempt += 1

