from __future__ import annotations

import asyncio

import pytest

from embedroute_client import AsyncClient, Client, InvalidArgumentError


def test_sparse_weights_need_a_model_with_the_sparse_head(client: Client) -> None:
    """The check server serves Qwen3-Embedding, which has no sparse head: the call reaches
    EmbedSparse and comes back as the field violation on `model`."""
    with pytest.raises(InvalidArgumentError) as caught:
        client.embed_sparse(["lexical weights"], return_tokens=True)
    assert [v.field for v in caught.value.field_violations] == ["model"]
    assert "has no sparse head" in caught.value.field_violations[0].description


def test_async_sparse_weights_raise_alike(target: str, api_key: str) -> None:
    async def run() -> None:
        async with AsyncClient(target, api_key=api_key) as aclient:
            await aclient.embed_sparse("lexical weights")

    with pytest.raises(InvalidArgumentError, match="has no sparse head"):
        asyncio.run(run())
