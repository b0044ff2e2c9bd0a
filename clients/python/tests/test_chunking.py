"""Server-side chunking of long texts (issue #31): `embed_chunks` and `embed(chunking="mean")`."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from embedroute_client import AsyncClient, Chunk, Client, InvalidArgumentError

LONG = " ".join(f"Sentence {i} tells of the river, the mill and the bridge." for i in range(60))


def test_embed_chunks_cover_the_text(client: Client) -> None:
    chunks = client.embed_chunks(LONG, size=64, overlap=8)
    assert len(chunks) > 5 and all(isinstance(c, Chunk) for c in chunks)
    assert chunks[0].start == 0 and chunks[-1].end == len(LONG)
    for before, after in zip(chunks, chunks[1:]):
        assert before.start < after.start <= before.end < after.end
    assert [c.text for c in chunks] == [LONG[c.start : c.end] for c in chunks]
    assert all(c.vector.shape == (256,) and 0 < c.prompt_tokens <= 65 for c in chunks)
    np.testing.assert_allclose(chunks[0].vector, client.embed(chunks[0].text), atol=1e-6)


def test_mean_is_the_token_weighted_mean_of_the_chunks(client: Client) -> None:
    raw = client.embed_chunks(LONG, size=64, normalize=False)
    weights = np.array([c.prompt_tokens for c in raw], dtype=np.float64)
    mean = (np.stack([c.vector for c in raw]) * weights[:, None]).sum(axis=0) / weights.sum()
    got = client.embed(LONG, chunking="mean", chunk_size=64)
    np.testing.assert_allclose(got, mean / np.linalg.norm(mean), atol=1e-5)


def test_a_bad_chunk_size_names_its_field(client: Client) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        client.embed_chunks(LONG, size=8)
    assert [v.field for v in caught.value.field_violations] == ["options.chunking.size"]
    with pytest.raises(ValueError, match="chunking must be one of"):
        client.embed(LONG, chunking="halves")  # type: ignore[arg-type]


def test_the_async_client_chunks_alike(target: str, api_key: str, client: Client) -> None:
    async def run() -> tuple[list[Chunk], np.ndarray]:
        async with AsyncClient(target, api_key=api_key) as aclient:
            return await aclient.embed_chunks(LONG, size=100), await aclient.embed(LONG, chunking="mean", chunk_size=100)

    chunks, mean = asyncio.run(run())
    assert [(c.start, c.end) for c in chunks] == [(c.start, c.end) for c in client.embed_chunks(LONG, size=100)]
    np.testing.assert_allclose(mean, client.embed(LONG, chunking="mean", chunk_size=100), atol=1e-6)
