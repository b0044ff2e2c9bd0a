"""The application's engine work: what each capability asks of a model, run on the model's worker.

Each Work class is a `service.scheduler.Work` (token sequences in, values out), run on the
model's worker; `TokenizeWork` needs only the vocabulary and runs on a pool thread. The engine
raises its errors with numbers only; here each one is tied to the request field it is
about (`inputs[3]`, `documents[7]`), in the core's names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from service.app.chunking import Span, split
from service.core.errors import InputTooLongError, InvalidArgumentError, QueryTooLongError
from service.core.results import TokenCount
from service.core.values import Chunking, EmbedOptions, Embedding, PreparedInput, SparseWeights, TokenVectors
from service.scheduler import Prepared, Row

if TYPE_CHECKING:
    from service.engine import Model


def located(field: str, prepare: Callable[..., PreparedInput], *args: Any) -> PreparedInput:
    """`prepare(*args)`, with a too-long input named by its field."""
    try:
        return prepare(*args)
    except QueryTooLongError as exc:  # the query is the problem, whichever document showed it
        raise exc.at("query") from None
    except InputTooLongError as exc:
        raise exc.at(field) from None


@dataclass(frozen=True)
class EmbedWork:
    texts: list[str]
    options: EmbedOptions
    positions: list[int] | None = None
    """Each text's index in the request, for error fields, when only some of its inputs are computed
    (the others came from the vector cache); None: texts[i] is inputs[i]."""

    def prepare(self, model: Model) -> Prepared:
        positions = self.positions or range(len(self.texts))
        return Prepared(
            [
                located(f"inputs[{i}]", model.prepare_embed, t, self.options)
                for i, t in zip(positions, self.texts, strict=True)
            ]
        )

    def finish(self, model: Model, prepared: Prepared, rows: list[Row]) -> list[Embedding]:
        return [model.embedding(row, item, self.options) for row, item in zip(rows, prepared.items, strict=True)]


@dataclass(frozen=True)
class EmbedTokensWork:
    """Every token's vector of each text (token vectors): the same prompts as EmbedWork, decoded
    once, each sequence's hidden states kept for all its tokens."""

    texts: list[str]
    options: EmbedOptions
    check_rows: Callable[[int], None] | None = None
    """Given the number of vectors the answer will hold, raises if that is too many: run once the
    prompts are tokenised, before any decode, so a refused request costs no model time."""

    def prepare(self, model: Model) -> Prepared:
        items = [located(f"inputs[{i}]", model.prepare_embed, t, self.options) for i, t in enumerate(self.texts)]
        if self.check_rows is not None:
            self.check_rows(sum(model.token_vector_rows(item) for item in items))
        return Prepared(items, every=True)

    def finish(self, model: Model, prepared: Prepared, rows: list[Row]) -> list[TokenVectors]:
        return [model.token_vectors(row, item, self.options) for row, item in zip(rows, prepared.items, strict=True)]


@dataclass(frozen=True)
class EmbedSparseWork:
    """Each text's lexical weights (BGE-M3's sparse head on its token states), and with `pieces` the
    token string of each id, from one decode of each text's prompt."""

    texts: list[str]
    options: EmbedOptions
    pieces: bool = False

    def prepare(self, model: Model) -> Prepared:
        return EmbedTokensWork(self.texts, self.options).prepare(model)

    def finish(self, model: Model, prepared: Prepared, rows: list[Row]) -> list[tuple[SparseWeights, list[str]]]:
        weights = [model.sparse_weights(row, item) for row, item in zip(rows, prepared.items, strict=True)]
        return [(w, [model.detokenize([t]) for t in w.token_ids] if self.pieces else []) for w in weights]


def input_room(model: Model, options: EmbedOptions) -> int:
    """Input tokens one sequence of the model holds with these options: its context less what the
    template adds (an instruction, special tokens)."""
    plain = EmbedOptions(input_type=options.input_type, instruction=options.instruction)
    return _room(model, model.prepare_embed("x", plain))


@dataclass(frozen=True)
class ChunkWork:
    """Each input's chunks (service.app.chunking). Needs only the vocabulary: runs on a pool thread,
    as TokenizeWork does."""

    texts: list[str]
    options: EmbedOptions
    chunking: Chunking

    def __call__(self, model: Model) -> list[list[Span]]:
        room = input_room(model, self.options)
        size = self.chunking.size or room
        if size > room:
            raise InvalidArgumentError.for_field(
                "chunking.size",
                f"{size} tokens is more than a chunk of {model.description.model_id} holds: {room} input tokens "
                f"(its {model.n_ctx}-token context less {model.n_ctx - room} for the prompt template)",
            )
        if self.chunking.overlap >= size:
            raise InvalidArgumentError.for_field(
                "chunking.overlap", f"{self.chunking.overlap} tokens of overlap; it must be less than the chunk size, {size}"
            )
        count = _counter(model)
        return [split(text, count, size, self.chunking.overlap) for text in self.texts]


@dataclass(frozen=True)
class RerankChunkWork:
    """Each document's windows, for scoring it by its best one (RerankCall.best_chunk): as many of the
    document's tokens as one sequence holds beside the query's prompt. Needs only the vocabulary."""

    query: str
    instruction: str | None
    documents: list[str]

    def __call__(self, model: Model) -> list[list[Span]]:
        room = rerank_room(model, self.query, self.instruction)
        count = _counter(model)
        return [split(document, count, room, 0) for document in self.documents]


def rerank_room(model: Model, query: str, instruction: str | None) -> int:
    """Document tokens one sequence holds beside this query: the context less the reranker's prompt
    (a query too long to leave any is the query's error), or an embedding model's document room
    (cosine scoring embeds documents alone)."""
    if model.description.kind != "reranker":
        return input_room(model, EmbedOptions(input_type="document"))
    return _room(model, located("query", model.prepare_rerank, query, "x", instruction, False))


def _room(model: Model, probe: PreparedInput) -> int:
    """The context less what a prompt adds around its text, `probe` being the prompt of the text "x"."""
    return model.n_ctx - (len(probe.tokens) - len(model.tokenize("x")))


def _counter(model: Model) -> Callable[[str], int]:
    def count(text: str) -> int:
        return len(model.tokenize(text))

    return count


@dataclass(frozen=True)
class RerankWork:
    query: str
    documents: list[str]
    instruction: str | None
    truncate: bool
    index_offset: int = 0
    """Index of the chunk's first document in the whole request, for error fields (a stream's later chunks)."""
    positions: list[int] | None = None
    """Each document's index in its chunk when only some are scored (the others came from the vector
    cache); None: documents[i] is the chunk's document i."""

    def prepare(self, model: Model) -> Prepared:
        return Prepared(
            [
                located(
                    f"documents[{self.index_offset + i}]",
                    model.prepare_rerank,
                    self.query,
                    d,
                    self.instruction,
                    self.truncate,
                )
                for i, d in zip(self.positions or range(len(self.documents)), self.documents, strict=True)
            ]
        )

    def finish(self, model: Model, prepared: Prepared, rows: list[Row]) -> list[float]:
        return [model.score(row) for row in rows]


@dataclass(frozen=True)
class TokenizeWork:
    """Counts each input's prompt as the model would see it, and what truncation would keep."""

    inputs: list[str]
    options: EmbedOptions
    """The embedding template's options (input type, instruction); rerankers use `query`."""
    query: str | None
    """Set for a reranker: the inputs are documents paired with this query."""
    return_tokens: bool
    with_template: bool = False
    chunking: Chunking = Chunking()

    def __call__(self, model: Model) -> list[TokenCount]:
        counts = [self._count(model, i, text) for i, text in enumerate(self.inputs)]
        if self.chunking.mode == "none":
            return counts
        if self.query is not None:
            spans = RerankChunkWork(self.query, self.options.instruction, self.inputs)(model)
        else:
            spans = ChunkWork(self.inputs, self.options, self.chunking)(model)
        count = _counter(model)
        return [
            replace(c, chunks=[(s.start, s.end, count(text[s.start : s.end])) for s in each])
            for c, text, each in zip(counts, self.inputs, spans, strict=True)
        ]

    def _prepare(self, model: Model, text: str, truncate: bool) -> PreparedInput:
        if self.query is not None:
            return model.prepare_rerank(self.query, text, self.options.instruction, truncate)
        options = EmbedOptions(input_type=self.options.input_type, instruction=self.options.instruction, truncate=truncate)
        return model.prepare_embed(text, options)

    def _count(self, model: Model, index: int, text: str) -> TokenCount:
        ids = model.tokenize(text)
        prompt = located(f"inputs[{index}]", self._prepare, model, text, True)
        kept = max(0, len(ids) - (prompt.full_length - len(prompt.tokens)))
        if not self.with_template:
            shown = ids
        elif prompt.truncated:  # as the model would see it whole: too long for the context is the input's error
            shown = list(located(f"inputs[{index}]", self._prepare, model, text, False).tokens)
        else:
            shown = list(prompt.tokens)
        return TokenCount(
            index=index,
            input_tokens=len(ids),
            prompt_tokens=prompt.full_length,
            kept_input_tokens=kept,
            kept_text=model.detokenize(ids[:kept]) if prompt.truncated else text,
            would_truncate=prompt.truncated,
            token_ids=list(shown) if self.return_tokens else [],
            pieces=[model.detokenize([t]) for t in shown] if self.return_tokens else [],
            special=[model.is_control(t) for t in shown] if self.return_tokens else [],
        )


@dataclass(frozen=True)
class DecodeWork:
    """Each token-id list as the text the model's vocabulary spells."""

    token_ids: list[list[int]]
    skip_special: bool = False

    def __call__(self, model: Model) -> list[str]:
        return [model.detokenize(ids, special=not self.skip_special) for ids in self.token_ids]
