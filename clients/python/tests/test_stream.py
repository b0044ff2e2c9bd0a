from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from embedroute_client import Client

TEXTS = [f"streamed text number {i}" for i in range(24)]


def _lazily(texts: list[str]) -> Iterator[str]:
    yield from texts


def test_embed_stream_yields_every_input_in_order(client: Client) -> None:
    streamed = list(client.embed_stream(_lazily(TEXTS)))
    assert [index for index, _ in streamed] == list(range(len(TEXTS)))
    np.testing.assert_allclose(np.stack([v for _, v in streamed]), client.embed(TEXTS), atol=1e-5)


def test_unordered_stream_matches_results_by_id(client: Client) -> None:
    expected = client.embed(TEXTS, dimensions=32)
    streamed = dict(client.embed_stream(_lazily(TEXTS), ordered=False, dimensions=32))
    assert sorted(streamed) == list(range(len(TEXTS)))
    for index, vector in streamed.items():
        np.testing.assert_allclose(vector, expected[index], atol=1e-5)


def test_rerank_stream_over_chunks_equals_unary_rerank(client: Client) -> None:
    documents = [f"document {i} about {'Beijing' if i % 3 == 0 else 'gravity'}" for i in range(5)]
    unary = client.rerank("capital of China", documents)
    streamed = client.rerank_stream("capital of China", _lazily(documents), chunk_size=2, top_n=3)
    assert [r.index for r in streamed] == [r.index for r in unary[:3]]
    np.testing.assert_allclose([r.score for r in streamed], [r.score for r in unary[:3]], atol=1e-5)
    everything = client.rerank_stream("capital of China", _lazily(documents), chunk_size=3)
    assert sorted(r.index for r in everything) == list(range(5))


def test_stopping_early_cancels_the_stream_and_the_client_stays_usable(client: Client) -> None:
    stream = client.embed_stream(_lazily(TEXTS))
    first = next(stream)
    stream.close()
    assert first[0] == 0
    np.testing.assert_allclose(first[1], client.embed(TEXTS[0]), atol=1e-5)
