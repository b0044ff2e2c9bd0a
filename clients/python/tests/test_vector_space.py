"""The vector-space id: read it, require it, and get a typed error instead of foreign vectors."""

from __future__ import annotations

import asyncio
import re

import pytest

from embedroute_client import AsyncClient, Client, VectorSpaceMismatchError

OTHER = "vs1-0000000000000000"


def test_the_served_space_has_an_id(client: Client) -> None:
    assert re.fullmatch(r"vs1-[0-9a-f]{16}", client.vector_space())


def test_a_matching_expectation_returns_vectors(target: str, api_key: str) -> None:
    with Client(target, api_key=api_key) as plain:
        space = plain.vector_space()
    with Client(target, api_key=api_key, expect_vector_space=space) as strict:
        assert strict.embed(["a text"]).shape == (1, 256)
        assert [i for i, _ in strict.embed_stream(["a", "b"])] == [0, 1]


def test_a_mismatch_raises_instead_of_returning_vectors(client: Client) -> None:
    space = client.vector_space()
    with pytest.raises(VectorSpaceMismatchError) as caught:
        client.embed(["a text"], expect_vector_space=OTHER)
    error = caught.value
    assert (error.expected, error.actual, error.model, error.reason) == (
        OTHER, space, "qwen3-embedding-tiny", "VECTOR_SPACE_MISMATCH",
    )
    assert str(error) == (
        f"FAILED_PRECONDITION: model 'qwen3-embedding-tiny' serves vector space {space}, expected {OTHER} "
        "(VECTOR_SPACE_MISMATCH)"
    )
    with pytest.raises(VectorSpaceMismatchError):
        list(client.embed_stream(["a", "b"], expect_vector_space=OTHER))


def test_unnormalised_vectors_are_another_space(client: Client) -> None:
    space = client.vector_space()
    with pytest.raises(VectorSpaceMismatchError) as caught:
        client.embed(["a text"], normalize=False, expect_vector_space=space)
    assert caught.value.actual not in ("", space)


def test_the_async_client_checks_too(target: str, api_key: str) -> None:
    async def run() -> None:
        async with AsyncClient(target, api_key=api_key, expect_vector_space=OTHER) as strict:
            with pytest.raises(VectorSpaceMismatchError):
                await strict.embed(["a text"])
            assert re.fullmatch(r"vs1-[0-9a-f]{16}", await strict.vector_space())

    asyncio.run(run())
