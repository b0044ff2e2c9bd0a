"""The application answers without any transport: the same results a front translates, on real models.

No gRPC here: these calls are what every front makes, so a capability that works here
works the same through each of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

from service.app import Application, Registry
from service.core.config import Settings
from service.core.errors import InvalidArgumentError
from service.core.requests import EmbedCall, EmbedStreamItem, RerankCall, TokenizeCall
from service.core.results import RerankChunkResult, RerankStreamSummary
from service.core.values import EmbedOptions
from service.serve import plan

T = TypeVar("T")
EMBED_MODEL = "qwen3-embedding-tiny"
RERANK_MODEL = "qwen3-reranker-tiny"


@pytest.fixture(scope="module")
def app(models_dir: Path) -> Iterator[Application]:
    settings = Settings(host="127.0.0.1", port=0, models=[models_dir], threads=1, ctx=512, metrics_port=0)
    registry = Registry(plan(settings))

    async def nothing(_: Any) -> None:
        pass

    asyncio.run(registry.load_all(settings, nothing))
    yield Application(registry, settings)
    registry.close(10)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def collect(stream: AsyncIterator[T]) -> list[T]:
    return [item async for item in stream]


async def each(*items: T) -> AsyncIterator[T]:
    for item in items:
        yield item


def test_embed_returns_unit_vectors_in_input_order(app: Application) -> None:
    result = run(app.embed(EmbedCall("", ["first text", "second text"], EmbedOptions(dimensions=64))))
    assert result.model_id == EMBED_MODEL
    assert [e.vector.shape for e in result.embeddings] == [(64,), (64,)]
    assert [round(float(np.linalg.norm(e.vector)), 5) for e in result.embeddings] == [1.0, 1.0]
    assert result.usage.prompt_tokens == sum(e.n_tokens for e in result.embeddings)
    alone = run(app.embed(EmbedCall("", ["second text"], EmbedOptions(dimensions=64))))
    np.testing.assert_array_equal(alone.embeddings[0].vector, result.embeddings[1].vector)


def test_embed_stream_names_each_result_by_its_item(app: Application) -> None:
    items = [EmbedStreamItem(str(i), EmbedCall("", [f"text {i}"], EmbedOptions())) for i in range(5)]
    results = run(collect(app.embed_stream(each(*items))))
    assert sorted(r.item.id for r in results) == ["0", "1", "2", "3", "4"]


def test_a_stream_item_error_carries_its_id_and_the_core_field(app: Application) -> None:
    items = [EmbedStreamItem("ok", EmbedCall("", ["fine"], EmbedOptions())), EmbedStreamItem("bad", EmbedCall("", [""], EmbedOptions()))]
    with pytest.raises(InvalidArgumentError) as caught:
        run(collect(app.embed_stream(each(*items))))
    assert caught.value.metadata["id"] == "bad"
    assert [v.field for v in caught.value.violations] == ["inputs[0]"]


def test_too_long_input_is_named_by_the_application(app: Application) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        run(app.embed(EmbedCall("", ["short", "hello " * 600], EmbedOptions())))
    assert caught.value.reason == "INPUT_TOO_LONG"
    assert [v.field for v in caught.value.violations] == ["inputs[1]"]
    assert caught.value.metadata["limit"] == "512"


def test_rerank_sorts_and_cuts_to_top_n(app: Application) -> None:
    documents = ["Beijing is the capital of China.", "Gravity pulls.", "The capital is Beijing."]
    full = run(app.rerank(RerankCall("", "What is the capital of China?", documents)))
    top = run(app.rerank(RerankCall("", "What is the capital of China?", documents, top_n=2, return_documents=True)))
    assert full.model_id == RERANK_MODEL and full.scoring == "reranker"
    assert [r.score for r in full.results] == sorted((r.score for r in full.results), reverse=True)
    assert [(r.index, r.score) for r in top.results] == [(r.index, r.score) for r in full.results[:2]]
    assert [r.document for r in top.results] == [documents[r.index] for r in full.results[:2]]


def test_rerank_stream_merges_the_top_n_over_chunks(app: Application) -> None:
    query = "What is the capital of China?"
    documents = [f"document number {i} about Beijing" if i % 3 else f"unrelated {i}" for i in range(9)]
    whole = run(app.rerank(RerankCall("", query, documents)))
    messages = [
        RerankCall("", query, documents[:4], top_n=3),
        RerankCall("", "", documents[4:7]),
        RerankCall("", "", []),
        RerankCall("", "", documents[7:]),
    ]
    parts = run(collect(app.rerank_stream(each(*messages))))
    chunks = [p for p in parts if isinstance(p, RerankChunkResult)]
    summary = parts[-1]
    assert isinstance(summary, RerankStreamSummary)
    assert sorted(c.chunk for c in chunks) == [0, 1, 3]
    assert sorted(r.index for c in chunks for r in c.result.results) == list(range(9))
    assert [(r.index, r.score) for r in summary.result.results] == [(r.index, r.score) for r in whole.results[:3]]
    assert summary.result.usage.prompt_tokens == sum(c.result.usage.prompt_tokens for c in chunks)


def test_tokenize_counts_what_truncation_would_keep(app: Application) -> None:
    text = "hello " * 600
    result = run(app.tokenize(TokenizeCall(EMBED_MODEL, ["hello world", text])))
    short, long = result.results
    assert (short.would_truncate, short.kept_input_tokens, short.kept_text) == (False, short.input_tokens, "hello world")
    assert short.prompt_tokens == short.input_tokens + 1  # the end-of-text token
    assert long.would_truncate and long.prompt_tokens == long.input_tokens + 1
    assert long.kept_input_tokens == 511 == result.context_length - 1
    assert result.usage.prompt_tokens == short.prompt_tokens + long.prompt_tokens


def test_a_model_of_the_wrong_kind_is_refused_by_name(app: Application) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        run(app.embed(EmbedCall(RERANK_MODEL, ["x"], EmbedOptions())))
    assert caught.value.reason == "WRONG_MODEL_KIND"
    assert [v.field for v in caught.value.violations] == ["model"]
