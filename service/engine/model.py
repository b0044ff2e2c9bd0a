"""A loaded model: prompt rules + llama.cpp runtime + post-processing, behind one small API.

The split between `prepare_*` (tokenise and template, can fail on user input) and
running the network lets the scheduler validate each request on its own and then feed
many requests' token sequences to the model's one Stepper, which batches them into
decodes; `embedding` and `score` turn a sequence's output row into what callers get.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np
import numpy.typing as npt

from service.core.errors import EngineError
from router.gguf_header import read_tensor
from router.metadata import describe_gguf, with_pooling
from service.core.resources import available_cpus
from router.types import QUERY_WINDOW_S, EngineSettings, GgufDescription, engine_layout
from service.core.values import (
    EmbedOptions,
    Embedding,
    MultiOutput,
    PreparedInput,
    RerankScore,
    SparseWeights,
    TokenVectors,
)
from service.engine.heads import Heads, colbert_rows, lexical_weights, load_heads
from service.engine.llama_backend import LlamaRuntime
from service.engine.postprocess import finish, finish_rows
from service.engine.prompts import EncoderTemplate, LastTokenTemplate, Qwen3RerankTemplate
from service.engine.stepper import EXACT_LAST_PIECE, Stepper

_ENCODER_POOLING = {"mean": llama_cpp.LLAMA_POOLING_TYPE_MEAN, "cls": llama_cpp.LLAMA_POOLING_TYPE_CLS}
"""Pooling llama.cpp does for encoders; one that names none is mean-pooled, as sentence-transformers defaults."""
ENDOFTEXT = "<|endoftext|>"
_CTX_PAD = 256
_LEARNED_POSITIONS = frozenset({"bert"})


class Model:
    def __init__(
        self,
        description: GgufDescription,
        runtime: LlamaRuntime,
        step_tokens: int,
        rank_head: npt.NDArray[np.float32] | None = None,
        *,
        heads: Heads = Heads(),
        urgent_alone: bool = True,
        query_step_tokens: int = 0,
        share_prefixes: bool = True,
        prefix_cache_cells: int = 0,
    ) -> None:
        self.description = description
        self._rt = runtime
        self._rank_head = rank_head
        self.heads = heads
        self.n_ctx = runtime.n_ctx
        self._embed_template: LastTokenTemplate | EncoderTemplate | None = None
        self._rerank_template: Qwen3RerankTemplate | None = None
        yes_no: tuple[int, ...] = ()
        if description.kind == "embedding":
            self._embed_template = self._choose_embed_template()
        else:
            self._rerank_template = Qwen3RerankTemplate()
            yes_no = (self._single_token("yes"), self._single_token("no"))
        self.stepper: Stepper[Any] = Stepper(
            runtime,
            step_tokens,
            logit_ids=() if rank_head is not None else yes_no,
            urgent_alone=urgent_alone,
            query_step_tokens=query_step_tokens,
            query_window_s=QUERY_WINDOW_S,
            share_prefixes=share_prefixes,
            prefix_cache_cells=prefix_cache_cells,
            last_piece=EXACT_LAST_PIECE if runtime.flash_attn else 0,
        )
        """The model's one batcher: its KV cells are the context's. Owned by one thread at a time."""

    @property
    def template_fingerprint(self) -> str:
        """The embedding prompt template's rules ("" for a reranker), part of the vector-space id."""
        return self._embed_template.fingerprint if self._embed_template is not None else ""

    @property
    def uses_rank_head(self) -> bool:
        return uses_rank_head(self.description)

    def tokenize(self, text: str) -> list[int]:
        return self._rt.tokenize(text, special=False)

    def detokenize(self, tokens: Sequence[int], special: bool = True) -> str:
        return self._rt.detokenize(tokens, special)

    def is_control(self, token: int) -> bool:
        return self._rt.is_control(token)

    def prepare_embed(self, text: str, options: EmbedOptions) -> PreparedInput:
        """The text's tokens in the model's template; raises InputTooLongError past the context
        without truncate. Options are the application's to validate (service.app.validation)."""
        if self._embed_template is None:
            raise EngineError(f"{self.description.model_id} is a reranker; it does not embed")
        return self._embed_template.prepare(self._rt, text, options, self.n_ctx)

    def embedding(self, row: npt.NDArray[np.float32], item: PreparedInput, options: EmbedOptions) -> Embedding:
        """The vector of one embedded sequence, from its output row (pooled or last hidden state)."""
        _check_finite(row, self.description)
        vector = finish(row, options.dimensions, options.normalize)
        return Embedding(vector=vector, n_tokens=len(item.tokens), truncated=item.truncated)

    def _vector_tokens(self, item: PreparedInput) -> Sequence[int]:
        """The tokens that get a vector: every one, or under a ColBERT head every one after [CLS]
        (`colbert_rows`)."""
        return item.tokens[1:] if self.heads.colbert is not None else item.tokens

    def token_vector_rows(self, item: PreparedInput) -> int:
        """How many vectors `token_vectors` gives for the item, known before it is decoded."""
        return len(self._vector_tokens(item))

    def token_vectors(self, states: npt.NDArray[np.float32], item: PreparedInput, options: EmbedOptions) -> TokenVectors:
        """Every token's vector of one sequence, from its hidden states (`run(..., every=True)`); for a
        model with a ColBERT head, its ColBERT vectors: the head on every token after [CLS]."""
        self._check_states(states, item)
        rows = colbert_rows(self.heads.colbert, states) if self.heads.colbert is not None else states
        vectors = finish_rows(rows, options.dimensions, options.normalize)
        return TokenVectors(vectors=vectors, token_ids=list(self._vector_tokens(item)), truncated=item.truncated)

    def sparse_weights(self, states: npt.NDArray[np.float32], item: PreparedInput) -> SparseWeights:
        """BGE-M3's lexical weights of one sequence, from its hidden states (service.engine.heads)."""
        if self.heads.sparse is None:
            raise EngineError(f"{self.description.model_id} has no sparse head")
        self._check_states(states, item)
        ids, weights = lexical_weights(self.heads.sparse, states, item.tokens, self._rt.is_special)
        return SparseWeights(ids, weights, len(item.tokens), item.truncated)

    def outputs(
        self, states: npt.NDArray[np.float32], item: PreparedInput, options: EmbedOptions, kinds: frozenset[str]
    ) -> MultiOutput:
        """The outputs `kinds` names ("dense", "sparse", "colbert"), all from one sequence's states: the
        dense vector pooled from them as the model pools."""
        self._check_states(states, item)
        return MultiOutput(
            dense=self.embedding(self._pool(states), item, options) if "dense" in kinds else None,
            sparse=self.sparse_weights(states, item) if "sparse" in kinds else None,
            colbert=self.token_vectors(states, item, options) if "colbert" in kinds else None,
        )

    def _pool(self, states: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        pooling = self.description.pooling
        pooled: npt.NDArray[np.float32] = (
            states[0] if pooling == "cls" else states[-1] if pooling == "last" else states.mean(axis=0)
        )
        return pooled

    def _check_states(self, states: npt.NDArray[np.float32], item: PreparedInput) -> None:
        _check_finite(states, self.description)
        if states.shape[0] != len(item.tokens):
            raise EngineError(f"expected {len(item.tokens)} token states, got {states.shape[0]}")

    def score(self, row: npt.NDArray[np.float32]) -> float:
        """p(yes): the reranker's probability that the document answers the query.

        A rank-head file's row is the last hidden state and its cls.output rows are the LM
        head's "yes" and "no" rows, so this is the same two-way softmax that rank pooling
        computes inside llama.cpp; an LM reranker's row is already the yes/no logits.
        """
        _check_finite(row, self.description)
        logits = row @ self._rank_head.T if self._rank_head is not None else row
        yes, no = (float(v) for v in logits.astype(np.float64))
        return 1.0 / (1.0 + math.exp(no - yes))

    def run(self, items: Sequence[PreparedInput], *, every: bool = False) -> list[npt.NDArray[np.float32]]:
        """Every item's output row (`every`: its tokens' hidden states), stepping the model until all
        are done (no scheduler)."""
        if self.stepper.busy:
            raise EngineError("the model's stepper is in use by its scheduler")
        for index, item in enumerate(items):
            self.stepper.add(index, item.tokens, shared=item.n_shared, every=every)
        rows: dict[Hashable, npt.NDArray[np.float32]] = {}
        try:
            while self.stepper.busy:
                rows.update(self.stepper.step().finished)
        except BaseException:
            self.stepper.reset()
            raise
        return [rows[index] for index in range(len(items))]

    def embed_prepared(self, items: Sequence[PreparedInput], options: EmbedOptions) -> list[Embedding]:
        return [self.embedding(row, item, options) for row, item in zip(self.run(items), items, strict=True)]

    def embed(self, texts: Sequence[str], options: EmbedOptions) -> list[Embedding]:
        prepared = [self.prepare_embed(text, options) for text in texts]
        return self.embed_prepared(prepared, options)

    def embed_tokens(self, texts: Sequence[str], options: EmbedOptions) -> list[TokenVectors]:
        prepared = [self.prepare_embed(text, options) for text in texts]
        rows = self.run(prepared, every=True)
        return [self.token_vectors(states, item, options) for states, item in zip(rows, prepared, strict=True)]

    def embed_outputs(self, texts: Sequence[str], options: EmbedOptions, kinds: frozenset[str]) -> list[MultiOutput]:
        """Each text's outputs named by `kinds`, from one decode of each."""
        prepared = [self.prepare_embed(text, options) for text in texts]
        rows = self.run(prepared, every=True)
        return [self.outputs(states, item, options, kinds) for states, item in zip(rows, prepared, strict=True)]

    def prepare_rerank(self, query: str, document: str, instruction: str | None, truncate: bool) -> PreparedInput:
        if self._rerank_template is None:
            raise EngineError(f"{self.description.model_id} is an embedding model; it does not rerank")
        return self._rerank_template.prepare(self._rt, query, document, instruction, self.n_ctx, truncate)

    def score_prepared(self, items: Sequence[PreparedInput]) -> list[float]:
        return [self.score(row) for row in self.run(items)]

    def rerank(
        self, query: str, documents: Sequence[str], instruction: str | None = None, truncate: bool = False
    ) -> list[RerankScore]:
        prepared = [self.prepare_rerank(query, doc, instruction, truncate) for doc in documents]
        scores = self.score_prepared(prepared)
        return [
            RerankScore(index=i, score=score, n_tokens=len(item.tokens), truncated=item.truncated)
            for i, (score, item) in enumerate(zip(scores, prepared))
        ]

    def self_check(self) -> None:
        """One short decode before the model serves: a file with a valid header and corrupt tensor
        data loads without complaint and answers NaN, so it must fail here, not in a response."""
        if self.description.kind == "embedding":
            self.embed(["embedroute self-check"], EmbedOptions())
        else:
            self.rerank("embedroute self-check", ["a short document"])

    def close(self) -> None:
        self._rt.close()

    def _choose_embed_template(self) -> LastTokenTemplate | EncoderTemplate:
        if self.description.pooling == "last":
            end = self._rt.tokenize(ENDOFTEXT, special=True)
            return LastTokenTemplate(eos_id=end[0] if len(end) == 1 else self._rt.eos_id)
        return EncoderTemplate()

    def _single_token(self, word: str) -> int:
        tokens = self._rt.tokenize(word, special=False)
        if len(tokens) != 1:
            raise EngineError(f"reranker vocabulary has no single token for {word!r}")
        return tokens[0]


def _check_finite(row: npt.NDArray[np.float32], description: GgufDescription) -> None:
    """Never answer NaN or infinity: such a row means corrupt weights or a broken backend."""
    if not np.isfinite(row).all():
        raise EngineError(f"{description.path.name} produced non-finite values (NaN or infinity): corrupt tensor data?")


def uses_rank_head(description: GgufDescription) -> bool:
    """True for rerankers converted with `cls.output` and rank pooling; the others are
    plain causal LMs whose score comes from the output head's yes/no logits."""
    return description.kind == "reranker" and description.has_cls_output and description.pooling == "rank"


def context_size(description: GgufDescription, settings: EngineSettings) -> int:
    """Cells of the KV cache: llama.cpp pads n_ctx up to a multiple of 256 but not n_batch/n_ubatch,
    and a batch bigger than n_ubatch (or an n_ubatch that is not a multiple of 32) aborts the
    process; so pad here, and encoders, which see a sequence in one decode, size all three alike. A learned position table (BERT) has no row
    past the trained context, and a position beyond it aborts too."""
    n_ctx = settings.n_ctx or min(description.context_length or settings.max_ctx, settings.max_ctx)
    n_ctx = -(-n_ctx // _CTX_PAD) * _CTX_PAD
    if description.architecture in _LEARNED_POSITIONS and description.context_length:
        n_ctx = min(n_ctx, description.context_length // _CTX_PAD * _CTX_PAD or description.context_length)
    return n_ctx


def load_model(path: Path, settings: EngineSettings | None = None) -> Model:
    settings = settings or EngineSettings()
    description = with_pooling(describe_gguf(path), settings.pooling)
    n_ctx = context_size(description, settings)
    last_token = description.pooling == "last" or description.kind == "reranker"
    encoder = description.kind == "embedding" and not last_token
    pooling = (
        _ENCODER_POOLING.get(description.pooling, llama_cpp.LLAMA_POOLING_TYPE_MEAN)
        if encoder
        else llama_cpp.LLAMA_POOLING_TYPE_NONE
    )
    layout = engine_layout(settings, n_ctx)
    runtime = LlamaRuntime(
        path,
        n_ctx=n_ctx,
        n_seq_max=layout.n_seq_max,
        # Non-causal encoders must see a whole sequence in one decode.
        n_batch=n_ctx if encoder else layout.step_tokens,
        n_threads=settings.n_threads or available_cpus(),
        n_gpu_layers=settings.n_gpu_layers,
        pooling=pooling,
        embeddings=encoder,
        tap_hidden=(description.kind == "embedding" and last_token) or uses_rank_head(description),
        flash_attn=layout.flash_attn,
        mmap=layout.load_mode == "mmap",
    )
    rank_head = read_tensor(path, "cls.output.weight") if uses_rank_head(description) else None
    return Model(
        description,
        runtime,
        layout.step_tokens,
        rank_head,
        heads=load_heads(path, description),
        urgent_alone=layout.device == "cpu",
        query_step_tokens=layout.query_step_tokens,
        share_prefixes=settings.share_prefixes,
        prefix_cache_cells=settings.prefix_cache_cells,
    )
