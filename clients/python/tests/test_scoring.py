"""Rerank's scoring options against the tiny BGE-M3 server: hybrid with explicit weights gives the
scores the Python tests' numpy reference computes (EMBEDROUTE_M3_HYBRID), within 1e-4, sync and
async, unary and stream; a negative weight is the server's INVALID_ARGUMENT."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from embedroute_client import AsyncClient, Client, HybridWeights, InvalidArgumentError, RerankResult


def _weights(m3_hybrid: dict[str, Any]) -> HybridWeights:
    return HybridWeights(**m3_hybrid["weights"])


def _assert_reference(results: list[RerankResult], m3_hybrid: dict[str, Any]) -> None:
    want: list[float] = m3_hybrid["scores"]
    assert [r.index for r in results] == sorted(range(len(want)), key=lambda i: (-want[i], i))
    for r in results:
        assert abs(r.score - want[r.index]) <= 1e-4, (r.index, r.score, want[r.index])


def test_hybrid_with_weights_equals_the_reference(m3_target: str, api_key: str, m3_hybrid: dict[str, Any]) -> None:
    with Client(m3_target, api_key=api_key) as client:
        query, documents = m3_hybrid["query"], m3_hybrid["documents"]
        weights = _weights(m3_hybrid)
        _assert_reference(client.rerank(query, documents, scoring="hybrid", hybrid_weights=weights), m3_hybrid)
        streamed = client.rerank_stream(query, iter(documents), chunk_size=2, scoring="hybrid", hybrid_weights=weights)
        _assert_reference(streamed, m3_hybrid)


def test_async_hybrid_with_weights_equals_the_reference(
    m3_target: str, api_key: str, m3_hybrid: dict[str, Any]
) -> None:
    async def run() -> tuple[list[RerankResult], list[RerankResult]]:
        async with AsyncClient(m3_target, api_key=api_key) as client:
            query, documents, weights = m3_hybrid["query"], m3_hybrid["documents"], _weights(m3_hybrid)
            unary = await client.rerank(query, documents, scoring="hybrid", hybrid_weights=weights)
            streamed = await client.rerank_stream(query, documents, chunk_size=2, scoring="hybrid", hybrid_weights=weights)
            return unary, streamed

    for results in asyncio.run(run()):
        _assert_reference(results, m3_hybrid)


def test_other_scorings_reach_the_server(m3_target: str, api_key: str, m3_hybrid: dict[str, Any]) -> None:
    """Each mode scores every document; cosine is the dense score alone, hybrid weighted 1, 0, 0."""
    with Client(m3_target, api_key=api_key) as client:
        query, documents = m3_hybrid["query"], m3_hybrid["documents"]
        cosine = {r.index: r.score for r in client.rerank(query, documents, scoring="cosine")}
        dense = client.rerank(query, documents, scoring="hybrid", hybrid_weights=HybridWeights(1.0, 0.0, 0.0))
        assert all(abs(r.score - cosine[r.index]) <= 1e-5 for r in dense)
        assert len(client.rerank(query, documents, scoring="maxsim")) == len(documents)


def test_a_negative_weight_is_invalid_argument(m3_target: str, api_key: str, m3_hybrid: dict[str, Any]) -> None:
    with Client(m3_target, api_key=api_key) as client, pytest.raises(InvalidArgumentError) as caught:
        client.rerank(m3_hybrid["query"], m3_hybrid["documents"], scoring="hybrid",
                      hybrid_weights=HybridWeights(dense=-0.5, sparse=0.5, colbert=0.5))
    assert [v.field for v in caught.value.field_violations] == ["hybrid_weights.dense"]
