from __future__ import annotations

import pytest

from embedroute_client import (
    Client,
    DeadlineExceededError,
    FieldViolation,
    InvalidArgumentError,
    UnauthenticatedError,
)


def test_invalid_dimensions_expose_the_field_violation(client: Client) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        client.embed(["text"], dimensions=7)
    error = caught.value
    assert error.reason == "INVALID_ARGUMENT"
    assert error.domain == "embedroute.dev"
    assert [v.field for v in error.field_violations] == ["options.dimensions"]
    assert "7" in error.field_violations[0].description


def test_empty_input_names_its_position(client: Client) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        client.embed(["fine", ""])
    assert caught.value.field_violations == [FieldViolation("inputs[1]", caught.value.field_violations[0].description)]


def test_an_expired_deadline_is_deadline_exceeded(client: Client) -> None:
    with pytest.raises(DeadlineExceededError):
        client.embed(["a slow request " * 50] * 32, timeout=0.001)


def test_missing_api_key_is_unauthenticated(target: str) -> None:
    with Client(target) as anonymous, pytest.raises(UnauthenticatedError) as caught:
        anonymous.embed(["text"])
    assert caught.value.reason == "UNAUTHENTICATED"


def test_wrong_api_key_is_unauthenticated(target: str) -> None:
    with Client(target, api_key="not-a-key") as stranger, pytest.raises(UnauthenticatedError):
        stranger.rerank("q", ["d"])
