"""The application: the one request path every front calls, whatever its transport.

Each capability runs the same named steps - check open -> pick the model ->
validate -> submit to the model's worker -> build the result - and every stream
reuses its unary twin's inner step, so both behave the same. Fronts translate their
wire format into `service.core.requests`, call one method here, and translate the
`service.core.results` (or the domain error) back; they hold no logic of their own.

Deadlines are absolute `time.monotonic()` instants (None: no deadline), so a stream's
later items get what is left of the call's time, not a fresh timeout each.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from importlib import metadata
from typing import Any, TypeVar

from service.app import readiness
from service.app.cache import SCORES, VECTORS, VectorCache, embed_keys, rerank_keys
from service.app.chunking import combine, pieces, regroup
from service.app.cosine_rerank import CosineRerankWork, scoring
from service.app.hybrid import HybridRerankWork, hybrid_weights
from service.app.late_interaction import MaxSimRerankWork
from service.app.ranking import TopN, best_first, ranked
from service.app.registry import Registry, ServedModel
from service.app.streams import map_ordered, map_unordered
from service.app.validation import (
    Limits,
    validate_decode,
    validate_chunks,
    validate_embed,
    validate_embed_sparse,
    validate_embed_tokens,
    validate_rerank,
    validate_tokenize,
    validate_token_answer,
    validate_top_n,
)
from service.app.work import (
    ChunkWork,
    DecodeWork,
    EmbedSparseWork,
    EmbedTokensWork,
    EmbedWork,
    RerankChunkWork,
    RerankWork,
    TokenizeWork,
)
from service.core.config import Settings
from service.core import keys
from service.core.errors import DeadlineExceededError, InvalidArgumentError, UnavailableError
from service.core.requests import DecodeCall, EmbedCall, EmbedStreamItem, RerankCall, TokenizeCall, UnnamedModel
from service.core.results import (
    DecodeResult,
    EmbedResult,
    EmbedStreamResult,
    RankedDocument,
    RerankChunkResult,
    RerankResult,
    RerankStreamSummary,
    SCORINGS,
    Scoring,
    ServerInfo,
    SparseEmbedResult,
    SparseEmbedStreamResult,
    Timing,
    TokenEmbedResult,
    TokenEmbedStreamResult,
    TokenizeResult,
    Usage,
)
from service.core.space import VectorSpace
from service.core.values import EmbedOptions, Embedding, RerankScore
from service.engine.postprocess import finish
from service.scheduler import ModelWorker, Outcome, Work

T = TypeVar("T")

VERSION = metadata.version("embedroute")

background: contextvars.ContextVar[bool] = contextvars.ContextVar("background", default=False)
"""True in a batch job's task: its engine work waits in the workers' background lane, below every
live request (service.scheduler.worker); set by the job runner, never by a front."""


def _timeout(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()


def _chars(texts: list[str], *query_side: str | None) -> int:
    """What the engine must read for a request, in characters: its texts and what goes before them
    (an instruction, a rerank's query). A long query-side prompt makes a long request, however short
    its texts: the short lane is for what fits in one step."""
    return sum(len(t) for t in texts) + sum(len(q) for q in query_side if q)


def _usage(outcome: Outcome[Any], started_ns: int) -> Usage:
    return Usage(outcome.prompt_tokens, outcome.timing, time.monotonic_ns() - started_ns)


def _cached_usage(tokens: list[int], computed: frozenset[int], spent: Usage, started_ns: int) -> Usage:
    """Every input's tokens, and of them those this call did not compute; the time of what it did."""
    cached = sum(n for i, n in enumerate(tokens) if i not in computed)
    return Usage(sum(tokens), spent.timing, time.monotonic_ns() - started_ns, cached)


_SCORING_NAMES: dict[str, Scoring] = {name: name for name in SCORINGS}
_RERANK_WORK: dict[Scoring, type[RerankWork | CosineRerankWork | MaxSimRerankWork]] = {
    "reranker": RerankWork, "cosine": CosineRerankWork, "maxsim": MaxSimRerankWork
}
"""Hybrid scoring's work (HybridRerankWork) carries the request's weights: `_score` builds it."""


@dataclass
class Application:
    """The models, the settings' limits, the vector cache, and whether the server is draining."""

    registry: Registry
    settings: Settings
    cache: VectorCache | None = None
    """None: every input is computed, repeats included (`cache=off`)."""
    draining: bool = False

    @property
    def limits(self) -> Limits:
        return Limits(
            max_inputs=self.settings.max_inputs_per_request,
            max_chars=self.settings.max_input_chars,
            max_request_chars=self.settings.max_request_chars,
            max_response_bytes=self.settings.max_message_bytes,
        )

    # --- embed ---------------------------------------------------------------------

    async def embed(self, call: EmbedCall, *, deadline: float | None = None) -> EmbedResult:
        """Token-id inputs are decoded with the model's vocabulary first, then embedded as texts."""
        self._check_open()
        if call.token_ids is not None:
            decoded = await self.decode(DecodeCall(call.model, call.token_ids, kind="embedding"), deadline=deadline)
            call = replace(call, inputs=decoded.texts, token_ids=None)
        return await self._embed(call, deadline)

    async def embed_tokens(self, call: EmbedCall, *, deadline: float | None = None) -> TokenEmbedResult:
        """Every token's vector of each input, from the embedding model's one decode of its prompt;
        not cached (the cache keeps one vector per input)."""
        self._check_open()
        if call.token_ids is not None:
            decoded = await self.decode(DecodeCall(call.model, call.token_ids, kind="embedding"), deadline=deadline)
            call = replace(call, inputs=decoded.texts, token_ids=None)
        return await self._embed_tokens(call, deadline)

    async def embed_tokens_stream(
        self, items: AsyncIterable[EmbedStreamItem], *, deadline: float | None = None, ordered: bool = False
    ) -> AsyncIterator[TokenEmbedStreamResult]:
        """Each message's token vectors, as `embed_stream` answers its vectors (window, order, first
        failure ends the stream); messages in flight together share the worker's batches."""
        self._check_open()

        async def one(item: EmbedStreamItem) -> TokenEmbedStreamResult:
            return TokenEmbedStreamResult(item, await self._embed_tokens(item.call, deadline))

        async for result in self._stream_each(items, one, ordered):
            yield result

    async def _embed_tokens(self, call: EmbedCall, deadline: float | None) -> TokenEmbedResult:
        started = time.monotonic_ns()
        worker = self.registry.worker_for(call.model, "embedding")
        description = worker.description
        validate_embed_tokens(call, self.limits, description)
        work = EmbedTokensWork(
            call.inputs, call.options, lambda rows: validate_token_answer(call, rows, self.limits, description)
        )
        outcome = await self._submit(worker, work, _chars(call.inputs, call.options.instruction), deadline)
        return TokenEmbedResult(
            description.model_id,
            outcome.values,
            _usage(outcome, started),
            vector_space_id=self.registry.get(description.model_id).vector_space_id(call.options.normalize, tokens=True),
            dimensions=call.options.dimensions or description.hidden_size,
        )

    async def embed_sparse(
        self, call: EmbedCall, *, pieces: bool = False, deadline: float | None = None
    ) -> SparseEmbedResult:
        """Each input's lexical weights (BGE-M3's sparse output) from one decode of its prompt; with
        `pieces`, the token string of every id. INVALID_ARGUMENT for a model without the sparse head."""
        self._check_open()
        if call.token_ids is not None:
            decoded = await self.decode(DecodeCall(call.model, call.token_ids, kind="embedding"), deadline=deadline)
            call = replace(call, inputs=decoded.texts, token_ids=None)
        return await self._embed_sparse(call, pieces, deadline)

    async def embed_sparse_stream(
        self,
        items: AsyncIterable[EmbedStreamItem],
        *,
        pieces: bool = False,
        deadline: float | None = None,
        ordered: bool = False,
    ) -> AsyncIterator[SparseEmbedStreamResult]:
        """Each message's lexical weights, as `embed_stream` answers its vectors; a model without the
        sparse head fails the first message, INVALID_ARGUMENT."""
        self._check_open()

        async def one(item: EmbedStreamItem) -> SparseEmbedStreamResult:
            return SparseEmbedStreamResult(item, await self._embed_sparse(item.call, pieces, deadline))

        async for result in self._stream_each(items, one, ordered):
            yield result

    async def _embed_sparse(self, call: EmbedCall, pieces: bool, deadline: float | None) -> SparseEmbedResult:
        started = time.monotonic_ns()
        worker = self.registry.worker_for(call.model, "embedding")
        description = worker.description
        validate_embed_sparse(call, self.limits, description)
        work = EmbedSparseWork(call.inputs, call.options, pieces)
        outcome = await self._submit(worker, work, _chars(call.inputs, call.options.instruction), deadline)
        return SparseEmbedResult(
            description.model_id,
            [weights for weights, _ in outcome.values],
            _usage(outcome, started),
            pieces=[each for _, each in outcome.values] if pieces else None,
            vector_space_id=self.registry.get(description.model_id).vector_space_id(sparse=True),
        )

    async def embed_stream(
        self, items: AsyncIterable[EmbedStreamItem], *, deadline: float | None = None, ordered: bool = False
    ) -> AsyncIterator[EmbedStreamResult]:
        """Results as they are computed or, `ordered`, in input order (held back until their turn,
        as TEI answers); the first failure ends the stream, with the failing item's id in the
        error's metadata."""
        self._check_open()  # a stream already open when draining starts may finish within the grace

        async def one(item: EmbedStreamItem) -> EmbedStreamResult:
            return EmbedStreamResult(item, await self._embed(item.call, deadline))

        async for result in self._stream_each(items, one, ordered):
            yield result

    async def _stream_each(
        self, items: AsyncIterable[EmbedStreamItem], one: Callable[[EmbedStreamItem], Awaitable[T]], ordered: bool
    ) -> AsyncIterator[T]:
        """Every embedding stream's one policy: `stream_window` messages in flight (so the worker
        batches them together), answers as computed or in request order, and a bad message's
        INVALID_ARGUMENT names its id."""

        async def named(item: EmbedStreamItem) -> T:
            try:
                return await one(item)
            except InvalidArgumentError as exc:
                exc.metadata["id"] = item.id
                raise

        in_order = map_ordered if ordered else map_unordered
        async for result in in_order(items, named, self.settings.stream_window):
            yield result

    async def _embed(self, call: EmbedCall, deadline: float | None) -> EmbedResult:
        started = time.monotonic_ns()
        worker = self.registry.worker_for(call.model, "embedding")
        validate_embed(call, self.limits, worker.description)
        served = self.registry.get(worker.description.model_id)
        if call.chunking.mode == "none":
            embeddings, usage = await self._vectors(worker, served, call.inputs, call.options, deadline, started)
        else:
            embeddings, usage = await self._embed_chunked(worker, served, call, deadline, started)
        return EmbedResult(
            worker.description.model_id,
            embeddings,
            usage,
            vector_space_id=served.vector_space_id(call.options.normalize),
            dimensions=call.options.dimensions or worker.description.hidden_size,
        )

    async def _embed_chunked(
        self, worker: ModelWorker, served: ServedModel, call: EmbedCall, deadline: float | None, started: int
    ) -> tuple[list[Embedding], Usage]:
        """Each input split into chunks that fit one sequence (on a pool thread: vocabulary only), every
        chunk embedded as an input of its own (cache and lanes as usual), then combined per input."""
        spans = await asyncio.to_thread(ChunkWork(call.inputs, call.options, call.chunking), worker.model)
        validate_chunks(call, sum(map(len, spans)), self.limits, worker.description)
        raw = replace(call.options, dimensions=None, normalize=False)
        vectors, usage = await self._vectors(worker, served, pieces(call.inputs, spans), raw, deadline, started)
        keep = call.chunking.mode == "chunks"
        return [combine(parts, each, call.options, keep=keep) for parts, each in regroup(vectors, spans)], usage

    async def _vectors(
        self, worker: ModelWorker, served: ServedModel, texts: list[str], options: EmbedOptions, deadline: float | None,
        started: int,
    ) -> tuple[list[Embedding], Usage]:
        if self.cache is None or served.cache_space is None:
            outcome = await self._submit(worker, EmbedWork(texts, options), _chars(texts, options.instruction), deadline)
            return outcome.values, _usage(outcome, started)
        return await self._embed_cached(self.cache, served.cache_space, worker, texts, options, deadline, started)

    async def _embed_cached(
        self, cache: VectorCache, space: VectorSpace, worker: ModelWorker, inputs: list[str], options: EmbedOptions,
        deadline: float | None, started: int,
    ) -> tuple[list[Embedding], Usage]:
        """Each distinct input computed once (or not at all, when cached) at full precision, then cut
        and normalised for this request: one entry serves every `dimensions` and `normalize`."""
        full = replace(options, dimensions=None, normalize=False)
        spent = Usage()

        async def compute(positions: list[int]) -> list[Embedding]:
            nonlocal spent
            texts = [inputs[i] for i in positions]
            outcome = await self._submit(worker, EmbedWork(texts, full, positions), _chars(texts, full.instruction), deadline)
            spent += Usage(timing=outcome.timing)
            return outcome.values

        resolved = await cache.resolve(embed_keys(space, full, self._tenant(), inputs), compute, VECTORS)
        embeddings = [
            Embedding(finish(e.vector, options.dimensions, options.normalize), e.n_tokens, e.truncated)
            for e in resolved.values
        ]
        return embeddings, _cached_usage([e.n_tokens for e in embeddings], resolved.computed, spent, started)

    def _tenant(self) -> str:
        """Whose cache entries a call uses: with API keys, each key's own unless the operator shares them."""
        has_keys = bool(self.settings.api_keys) or self.settings.api_keys_file is not None
        return keys.tenant.get() if has_keys and not self.settings.cache_across_keys else ""

    # --- rerank --------------------------------------------------------------------

    async def rerank(self, call: RerankCall, *, deadline: float | None = None) -> RerankResult:
        self._check_open()
        worker, how = self._rerank_route(call)
        validate_rerank(call, self.limits)
        validate_top_n(call)
        result = await self._rerank(worker, how, call, 0, deadline)
        return replace(result, results=result.results[: call.top_n]) if call.top_n else result

    async def rerank_stream(
        self, messages: AsyncIterable[RerankCall], *, deadline: float | None = None
    ) -> AsyncIterator[RerankChunkResult | RerankStreamSummary]:
        """Each message's documents scored as one chunk (message 0 carries the options), then a
        summary with the top_n best over all chunks. Later messages' documents are scored with
        the first message's query and options; their indices continue the first's."""
        self._check_open()
        header: list[RerankCall] = []
        route: list[tuple[ModelWorker, Scoring]] = []

        async def chunks() -> AsyncIterator[tuple[int, int, RerankCall]]:
            offset = 0
            n = 0
            async for message in messages:
                if n == 0:
                    route.append(self._rerank_route(message))
                    validate_rerank(message, self.limits, header=True)
                    header.append(message)
                call = replace(header[0], documents=message.documents)
                if call.documents:
                    if n > 0:
                        validate_rerank(call, self.limits, index_offset=offset)
                    yield n, offset, call
                    offset += len(call.documents)
                n += 1

        async def score(chunk: tuple[int, int, RerankCall]) -> RerankChunkResult:
            n, offset, call = chunk
            return RerankChunkResult(n, await self._rerank(*route[0], call, offset, deadline))

        total = Usage()
        best: TopN | None = None
        async for part in map_unordered(chunks(), score, self.settings.stream_window):
            best = best or TopN(header[0].top_n)
            total += part.result.usage
            best.add(part.result.results)
            yield part
        if not header:
            raise InvalidArgumentError.for_field("query", "the stream carried no message")
        worker, how = route[0]
        yield RerankStreamSummary(RerankResult(worker.description.model_id, best.best() if best else [], total, how))

    async def rerank_merged(
        self, messages: AsyncIterable[RerankCall], *, deadline: float | None = None
    ) -> RerankResult:
        """A rerank stream answered once (TEI's RerankStream): every chunk's documents, best first
        (the top_n best when the first message sets it), with the whole stream's usage."""
        results: list[RankedDocument] = []
        summary: RerankResult | None = None
        async for part in self.rerank_stream(messages, deadline=deadline):
            if isinstance(part, RerankStreamSummary):
                summary = part.result
            else:
                results += part.result.results
        assert summary is not None  # rerank_stream ends with its summary, or raises
        return summary if summary.results else replace(summary, results=best_first(results))

    def _rerank_route(self, call: RerankCall) -> tuple[ModelWorker, Scoring]:
        """The model and the way a rerank is scored: as the request's `scoring` says when it names one
        (cosine and MaxSim need an embedding model, `reranker` a reranker), else with the reranker
        when one is served and by cosine over the embedding model when none is."""
        if not call.scoring:
            worker = self.registry.rerank_worker(call.model)
            hybrid_weights(call, worker.description)  # refuses weights without hybrid scoring
            return worker, scoring(worker.description)
        how = _SCORING_NAMES.get(call.scoring)
        if how is None:
            raise InvalidArgumentError.for_field(
                "scoring", f"unknown scoring {call.scoring!r}; use {', '.join(SCORINGS)}, or leave it out"
            )
        worker = self.registry.worker_for(call.model, "reranker" if how == "reranker" else "embedding")
        hybrid_weights(call, worker.description)
        return worker, how

    async def _rerank(
        self, worker: ModelWorker, how: Scoring, call: RerankCall, offset: int, deadline: float | None
    ) -> RerankResult:
        """Each document's score from the cache, from a call in flight scoring the same pair, or computed."""
        if call.best_chunk:
            return await self._rerank_best_chunk(worker, how, call, offset, deadline)
        started = time.monotonic_ns()
        description = worker.description
        space = self.registry.get(description.model_id).cache_space
        if self.cache is None or space is None:
            scores, outcome = await self._score(worker, how, call, offset, list(range(len(call.documents))), deadline)
            usage = _usage(outcome, started)
        else:
            spent = Usage()

            async def compute(positions: list[int]) -> list[RerankScore]:
                nonlocal spent
                computed, outcome = await self._score(worker, how, call, offset, positions, deadline)
                spent += Usage(timing=outcome.timing)
                return computed

            how_exactly = f"{how}-{hybrid_weights(call, description)}" if how == "hybrid" else how
            ids = rerank_keys(
                space, how_exactly, call.query, call.instruction, call.truncate, self._tenant(), call.documents
            )
            resolved = await self.cache.resolve(ids, compute, SCORES)
            scores = resolved.values
            usage = _cached_usage([s.n_tokens for s in scores], resolved.computed, spent, started)
        return RerankResult(description.model_id, ranked(call, scores, offset), usage, how)

    async def _rerank_best_chunk(
        self, worker: ModelWorker, how: Scoring, call: RerankCall, offset: int, deadline: float | None
    ) -> RerankResult:
        """Every document split into windows that fit one sequence beside the query (one window when
        it fits whole; on a pool thread: vocabulary only), every window scored as a document of its own
        (cache and batching as usual), and each document scored by its best window."""
        spans = await asyncio.to_thread(RerankChunkWork(call.query, call.instruction, call.documents), worker.model)
        windows = pieces(call.documents, spans)
        plain = replace(call, documents=windows, best_chunk=False, return_documents=False, truncate=False)
        scored = await self._rerank(worker, how, plain, 0, deadline)
        by_window = sorted(scored.results, key=lambda r: r.index)
        results = []
        for i, (text, (mine, each)) in enumerate(zip(call.documents, regroup(by_window, spans), strict=True)):
            best = max(range(len(each)), key=lambda k: (mine[k].score, -k))
            results.append(
                RankedDocument(
                    index=offset + i,
                    score=mine[best].score,
                    prompt_tokens=sum(r.prompt_tokens for r in mine),
                    truncated=False,
                    document=text if call.return_documents else None,
                    chunks=len(each),
                    best=(each[best].start, each[best].end),
                )
            )
        return replace(scored, results=best_first(results))

    async def _score(
        self, worker: ModelWorker, how: Scoring, call: RerankCall, offset: int, positions: list[int],
        deadline: float | None,
    ) -> tuple[list[RerankScore], Outcome[float]]:
        """The documents at `positions` scored on the model's worker."""
        documents = [call.documents[i] for i in positions]
        work: Work[float]
        if how == "hybrid":
            weights = hybrid_weights(call, worker.description)
            work = HybridRerankWork(call.query, documents, call.instruction, call.truncate, offset, positions, weights)
        else:
            work = _RERANK_WORK[how](call.query, documents, call.instruction, call.truncate, offset, positions)
        outcome = await self._submit(worker, work, _chars(documents, call.query, call.instruction), deadline)
        scores = [
            RerankScore(i, score, len(item.tokens), item.truncated)
            for i, score, item in zip(positions, outcome.values, outcome.items, strict=True)
        ]
        return scores, outcome

    # --- tokenize ------------------------------------------------------------------

    async def tokenize(self, call: TokenizeCall, *, deadline: float | None = None) -> TokenizeResult:
        """Counted on a pool thread, not the model's worker: tokenising needs only the vocabulary,
        which llama.cpp reads without locks while the worker decodes, and a long Tokenize call
        (2 M characters with their pieces take seconds) would otherwise hold every Embed behind it."""
        self._check_open()
        started = time.monotonic_ns()
        worker = self.registry.worker_for(self._named(call.model, call.unnamed), None)
        validate_tokenize(call, self.limits, worker.description)
        is_reranker = worker.description.kind == "reranker"
        count = TokenizeWork(
            call.inputs,
            EmbedOptions(input_type=call.input_type, instruction=call.instruction),
            call.query if is_reranker else None,
            call.return_tokens,
            call.with_template,
            call.chunking,
        )
        if deadline is not None and time.monotonic() > deadline:
            raise DeadlineExceededError("the deadline passed before the request was tokenised")
        values = await asyncio.to_thread(count, worker.model)
        elapsed = time.monotonic_ns() - started
        prompt_tokens = sum(r.prompt_tokens for r in values)
        usage = Usage(prompt_tokens, Timing(tokenization_ns=elapsed), elapsed)
        return TokenizeResult(worker.description.model_id, worker.n_ctx, values, usage)

    async def decode(self, call: DecodeCall, *, deadline: float | None = None) -> DecodeResult:
        """Token ids as text: for clients that send ids (OpenAI's token-array inputs), whose texts
        are then embedded like any other, template and end token included."""
        self._check_open()
        worker = self.registry.worker_for(self._named(call.model, call.unnamed), call.kind)
        validate_decode(call, self.limits, worker.description)
        if deadline is not None and time.monotonic() > deadline:
            raise DeadlineExceededError("the deadline passed before the token ids were decoded")
        texts = await asyncio.to_thread(DecodeWork(call.token_ids, call.skip_special), worker.model)  # vocabulary only, as tokenize
        return DecodeResult(worker.description.model_id, texts)

    # --- models --------------------------------------------------------------------

    def models(self) -> list[ServedModel]:
        return self.registry.models()

    def unready(self, model_id: str = "") -> UnavailableError | None:
        """Why the server (or the named model) is not ready, or None: health's one answer (service.app.readiness)."""
        if model_id:
            return readiness.model_unready(self.registry.get(model_id))
        return readiness.unready(self.registry.models(), frozenset(self.settings.optional_models), self.draining)

    def model(self, model_id: str) -> ServedModel:
        if not model_id:
            raise InvalidArgumentError.for_field("model", "name the model (ListModels shows them)")
        return self.registry.get(model_id)

    def primary_model(self) -> ServedModel:
        """The model a single-model API (TEI) means, by the one rule of calls that name none
        (Registry.unnamed): the default model, else the only embedding model (the only model on a
        server without one); its Info, Tokenize and Decode name no model."""
        embedders = any(m.kind == "embedding" for m in self.registry.models())
        return self.registry.unnamed("embedding" if embedders else None)

    @property
    def version(self) -> str:
        """embedroute's version, as every front reports it."""
        return VERSION

    def info(self) -> ServerInfo:
        """The server and its primary model, for single-model APIs (TEI's Info)."""
        served = self.primary_model()
        description = served.description
        return ServerInfo(
            model_id=served.model_id,
            kind=served.kind,
            pooling=description.pooling,
            quant=description.quant,
            max_input_length=served.context_length or description.context_length,
            max_client_batch_size=self.settings.max_inputs_per_request,
            max_batch_tokens=served.shown.layout.step_tokens,
            max_concurrent_requests=self.settings.max_concurrent_rpcs,
            version=VERSION,
        )

    def serves_rerank_by_cosine(self, served: ServedModel) -> bool:
        return self.registry.serves_rerank_by_cosine(served)

    # --- shared steps --------------------------------------------------------------

    def _named(self, model_id: str, unnamed: UnnamedModel) -> str:
        """The model a call means: the one it names, or with none named and `primary`, the primary
        model ("" otherwise: the registry then takes the only model, or says to name one)."""
        return model_id or (self.primary_model().model_id if unnamed == "primary" else "")

    def _check_open(self) -> None:
        if self.draining:
            raise UnavailableError("the server is shutting down", reason="DRAINING")

    async def _submit(
        self, worker: ModelWorker, work: Work[T], chars: int, deadline: float | None
    ) -> Outcome[T]:
        """The work's outcome, or DeadlineExceededError once the deadline passes: the work is then
        cancelled, queued or in the engine, whether or not the transport would have cancelled it
        (gRPC does; HTTP callers only announce a timeout, service.http.deadlines). `chars` (see
        `_chars`) decides a live call's lane; a batch job's work takes the background lane."""
        short = chars <= self.settings.short_request_chars
        timeout_s = _timeout(deadline)
        queued = worker.submit(work, short=short, timeout_s=timeout_s, background=background.get())
        try:
            return await asyncio.wait_for(queued, timeout_s)
        except TimeoutError:
            raise DeadlineExceededError("the deadline passed before the answer was ready") from None
