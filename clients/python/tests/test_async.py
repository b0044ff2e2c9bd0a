from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest

from embedroute_client import AsyncClient, Client, InvalidArgumentError

TEXTS = [f"async text {i}" for i in range(12)]


async def _produce(texts: list[str]) -> AsyncIterator[str]:
    for text in texts:
        await asyncio.sleep(0)
        yield text


def test_async_client_matches_the_sync_client(client: Client, target: str, api_key: str) -> None:
    expected = client.embed(TEXTS)
    expected_rerank = client.rerank("gravity", TEXTS[:4])

    async def run() -> tuple[np.ndarray, list[tuple[int, np.ndarray]], list[int]]:
        async with AsyncClient(target, api_key=api_key) as aclient:
            unary = await aclient.embed(TEXTS)
            streamed = [item async for item in aclient.embed_stream(_produce(TEXTS))]
            reranked = await aclient.rerank("gravity", TEXTS[:4])
            return unary, streamed, [r.index for r in reranked]

    unary, streamed, reranked = asyncio.run(run())
    np.testing.assert_allclose(unary, expected, atol=1e-6)
    assert [i for i, _ in streamed] == list(range(len(TEXTS)))
    np.testing.assert_allclose(np.stack([v for _, v in streamed]), expected, atol=1e-5)
    assert reranked == [r.index for r in expected_rerank]


def test_async_errors_are_decoded(target: str, api_key: str) -> None:
    async def run() -> None:
        async with AsyncClient(target, api_key=api_key) as aclient:
            await aclient.embed(["x"], dimensions=7)

    with pytest.raises(InvalidArgumentError) as caught:
        asyncio.run(run())
    assert [v.field for v in caught.value.field_violations] == ["options.dimensions"]
