"""gRPC front end: proto -> domain call -> validate -> model worker -> proto.

The servicers do not subclass the generated `*Servicer` bases: those only supply
UNIMPLEMENTED defaults, every method is implemented here, and `add_*_to_server` needs
nothing else.

Handlers hold no business logic: each one is the same five steps, and every stream
RPC reuses its unary twin's inner function (`_embed`, `_rerank`), so both behave
the same. Domain errors propagate to `service.status`, the one place that maps them.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any, TypeAlias

import grpc.aio

from service import convert, cosine_rerank
from service.api.embedroute.v1 import embed_pb2, model_pb2, rerank_pb2, tokenize_pb2
from service.config import Settings
from service.cosine_rerank import CosineRerankWork
from service.engine.types import EmbedOptions, Embedding, GgufDescription
from service.errors import FieldViolation, InputTooLongError, InvalidArgumentError, UnavailableError
from service.registry import Registry
from service.scheduler import CallWork, EmbedWork, Outcome, RerankWork
from service.status import rpc_errors, stream_rpc_errors
from service.streams import map_unordered
from service.validation import (
    EmbedCall,
    Limits,
    RerankCall,
    TokenizeCall,
    validate_embed,
    validate_rerank,
    validate_tokenize,
    validate_top_n,
)

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


@dataclass
class Services:
    """What every servicer shares: the models, the settings, and whether we are draining."""

    registry: Registry
    settings: Settings
    draining: bool = False

    @property
    def limits(self) -> Limits:
        return Limits(max_inputs=self.settings.max_inputs_per_request, max_chars=self.settings.max_input_chars)

    def check_open(self) -> None:
        if self.draining:
            raise UnavailableError("the server is shutting down", reason="DRAINING")

    def is_short(self, texts: list[str]) -> bool:
        return sum(len(t) for t in texts) <= self.settings.short_request_chars


def _timeout(context: Context) -> float | None:
    remaining: float | None = context.time_remaining()
    return remaining


class EmbedServicer:
    def __init__(self, services: Services) -> None:
        self._s = services

    async def _embed(self, call: EmbedCall, context: Context) -> tuple[str, Outcome[Embedding]]:
        worker = self._s.registry.worker_for(call.model, "embedding")
        validate_embed(call, self._s.limits, worker.description)
        work = EmbedWork(call.inputs, call.options, call.fields)
        future = worker.submit(work, short=self._s.is_short(call.inputs), timeout_s=_timeout(context))
        return worker.description.model_id, await future

    @rpc_errors
    async def Embed(self, request: embed_pb2.EmbedRequest, context: Context) -> embed_pb2.EmbedResponse:
        received = time.monotonic_ns()
        self._s.check_open()
        call = convert.embed_call(request)
        model_id, outcome = await self._embed(call, context)
        return embed_pb2.EmbedResponse(
            model=model_id,
            embeddings=convert.embeddings(outcome, call.encoding),
            usage=convert.usage(outcome.prompt_tokens, outcome.timing, received),
        )

    @stream_rpc_errors
    async def EmbedStream(
        self, request_iterator: AsyncIterator[embed_pb2.EmbedStreamRequest], context: Context
    ) -> AsyncIterator[embed_pb2.EmbedStreamResponse]:
        self._s.check_open()  # a stream already open when draining starts may finish within the grace

        async def one(request: embed_pb2.EmbedStreamRequest) -> embed_pb2.EmbedStreamResponse:
            received = time.monotonic_ns()
            call = convert.embed_stream_call(request)
            try:
                model_id, outcome = await self._embed(call, context)
            except InvalidArgumentError as exc:
                exc.metadata["id"] = request.id
                raise
            return embed_pb2.EmbedStreamResponse(
                id=request.id,
                model=model_id,
                embedding=convert.embeddings(outcome, call.encoding)[0],
                usage=convert.usage(outcome.prompt_tokens, outcome.timing, received),
            )

        async for response in map_unordered(request_iterator, one, self._s.settings.stream_window):
            yield response


class RerankServicer:
    def __init__(self, services: Services) -> None:
        self._s = services

    async def _rerank(self, call: RerankCall, context: Context) -> tuple[GgufDescription, Outcome[float]]:
        worker = self._s.registry.rerank_worker(call.model)
        validate_rerank(call, self._s.limits)
        fields = [f"{call.documents_field}[{call.index_offset + i}]" for i in range(len(call.documents))]
        work_type = RerankWork if worker.description.kind == "reranker" else CosineRerankWork
        work = work_type(call.query, call.documents, call.instruction, call.truncate, fields)
        future = worker.submit(work, short=self._s.is_short(call.documents), timeout_s=_timeout(context))
        return worker.description, await future

    @rpc_errors
    async def Rerank(self, request: rerank_pb2.RerankRequest, context: Context) -> rerank_pb2.RerankResponse:
        received = time.monotonic_ns()
        self._s.check_open()
        call = convert.rerank_call(request)
        validate_top_n(call)
        scorer, outcome = await self._rerank(call, context)
        results = convert.rerank_results(call, outcome)
        return rerank_pb2.RerankResponse(
            model=scorer.model_id,
            results=results[: call.top_n] if call.top_n else results,
            usage=convert.usage(outcome.prompt_tokens, outcome.timing, received),
            scoring=cosine_rerank.scoring(scorer),
        )

    @stream_rpc_errors
    async def RerankStream(
        self, request_iterator: AsyncIterator[rerank_pb2.RerankStreamRequest], context: Context
    ) -> AsyncIterator[rerank_pb2.RerankStreamResponse]:
        self._s.check_open()
        header: list[RerankCall] = []
        scorers: list[GgufDescription] = []

        async def chunks() -> AsyncIterator[tuple[int, RerankCall]]:
            offset = 0
            async for n, request in _enumerate(request_iterator):
                if n == 0:
                    header.append(convert.rerank_stream_header(request))
                    validate_rerank(header[0], self._s.limits, allow_no_documents=True)
                else:
                    _check_later_chunk(request, n)
                if request.documents:
                    yield n, replace(header[0], documents=list(request.documents), index_offset=offset)
                    offset += len(request.documents)

        async def score(chunk: tuple[int, RerankCall]) -> rerank_pb2.RerankStreamResponse:
            received = time.monotonic_ns()
            n, call = chunk
            scorer, outcome = await self._rerank(call, context)
            scorers[:] = [scorer]
            return rerank_pb2.RerankStreamResponse(
                model=scorer.model_id,
                chunk=n,
                results=convert.rerank_results(call, outcome),
                usage=convert.usage(outcome.prompt_tokens, outcome.timing, received),
                scoring=cosine_rerank.scoring(scorer),
            )

        best: list[tuple[float, int, rerank_pb2.RerankResult]] = []
        total = rerank_pb2.RerankStreamResponse(final=True)
        async for response in map_unordered(chunks(), score, self._s.settings.stream_window):
            convert.add_usage(total.usage, response.usage)
            top_n = header[0].top_n
            for result in response.results if top_n else ():
                entry = (result.score, -result.index, result)
                if len(best) < top_n:
                    heapq.heappush(best, entry)
                else:
                    heapq.heappushpop(best, entry)
            yield response
        if not header:
            raise InvalidArgumentError.for_field("query", "the stream carried no message")
        if scorers:
            total.model, total.scoring = scorers[0].model_id, cosine_rerank.scoring(scorers[0])
        total.results.extend(entry[2] for entry in sorted(best, key=lambda e: (-e[0], -e[1])))
        yield total


async def _enumerate(source: AsyncIterator[Any]) -> AsyncIterator[tuple[int, Any]]:
    n = 0
    async for item in source:
        yield n, item
        n += 1


def _check_later_chunk(request: rerank_pb2.RerankStreamRequest, n: int) -> None:
    """Options belong to the first message; a later one that sets them is a client bug worth reporting."""
    set_fields = [f.name for f, _ in request.ListFields() if f.name != "documents"]
    if set_fields:
        raise InvalidArgumentError(
            f"message {n} sets {', '.join(set_fields)}; only the first message may",
            [FieldViolation(name, "only allowed in the stream's first message") for name in set_fields],
        )


class TokenizeServicer:
    def __init__(self, services: Services) -> None:
        self._s = services

    @rpc_errors
    async def Tokenize(self, request: tokenize_pb2.TokenizeRequest, context: Context) -> tokenize_pb2.TokenizeResponse:
        received = time.monotonic_ns()
        self._s.check_open()
        call = convert.tokenize_call(request)
        worker = self._s.registry.worker_for(call.model, None)
        validate_tokenize(call, self._s.limits)
        is_reranker = worker.description.kind == "reranker"
        if is_reranker and not call.query.strip():
            raise InvalidArgumentError.for_field("query", "a reranker counts query+document pairs: set query")
        work = CallWork(lambda model: [_count(model, call, i, is_reranker) for i in range(len(call.inputs))])
        outcome = await worker.submit(work, short=self._s.is_short(call.inputs), timeout_s=_timeout(context))
        results: list[tokenize_pb2.TokenizedInput] = outcome.values
        return tokenize_pb2.TokenizeResponse(
            model=worker.description.model_id,
            context_length=worker.n_ctx,
            results=results,
            usage=convert.usage(sum(r.prompt_tokens for r in results), outcome.timing, received),
        )


def _count(model: Any, call: TokenizeCall, i: int, is_reranker: bool) -> tokenize_pb2.TokenizedInput:
    """Runs on the model's worker: full prompt length, and what truncation would keep."""
    text = call.inputs[i]
    field = f"inputs[{i}]"
    ids: list[int] = model.tokenize(text)

    def prepare(truncate: bool) -> Any:
        if is_reranker:
            return model.prepare_rerank(call.query, text, call.instruction, truncate, field)
        options = EmbedOptions(input_type=call.input_type, instruction=call.instruction, truncate=truncate)
        return model.prepare_embed(text, options, field)

    result = tokenize_pb2.TokenizedInput(index=i, input_tokens=len(ids), kept_input_tokens=len(ids), kept_text=text)
    try:
        result.prompt_tokens = len(prepare(False).tokens)
    except InputTooLongError as exc:
        cut = exc.n_tokens - len(prepare(True).tokens)
        result.prompt_tokens = exc.n_tokens
        result.would_truncate = True
        result.kept_input_tokens = max(0, len(ids) - cut)
        result.kept_text = model.detokenize(ids[: result.kept_input_tokens])
    if call.return_tokens:
        result.token_ids.extend(ids)
        result.pieces.extend(model.detokenize([t]) for t in ids)
    return result


class ModelServicer:
    def __init__(self, services: Services) -> None:
        self._s = services

    @rpc_errors
    async def ListModels(self, request: model_pb2.ListModelsRequest, context: Context) -> model_pb2.ListModelsResponse:
        registry = self._s.registry
        return model_pb2.ListModelsResponse(
            models=[cosine_rerank.mark(convert.model(m), m, registry) for m in registry.models()]
        )

    @rpc_errors
    async def GetModel(self, request: model_pb2.GetModelRequest, context: Context) -> model_pb2.GetModelResponse:
        if not request.model:
            raise InvalidArgumentError.for_field("model", "name the model (ListModels shows them)")
        served = self._s.registry.get(request.model)
        return model_pb2.GetModelResponse(model=cosine_rerank.mark(convert.model(served), served, self._s.registry))
