"""Each validation rule, once, in the core's field names (the fronts' tables map them to their paths)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.app.validation import Limits, validate_embed, validate_rerank, validate_tokenize, validate_top_n
from service.core.errors import InvalidArgumentError
from router.metadata import describe_gguf
from service.core.requests import EmbedCall, RerankCall, TokenizeCall
from router.types import GgufDescription
from service.core.values import EmbedOptions
from tests.conftest import SynthModels

LIMITS = Limits(max_inputs=3, max_chars=10, max_request_chars=25, max_response_bytes=1_000_000)


@pytest.fixture(scope="module")
def embedding(synth_models: SynthModels) -> GgufDescription:
    return describe_gguf(synth_models.embedding["Q8_0"])


@pytest.fixture(scope="module")
def reranker(synth_models: SynthModels) -> GgufDescription:
    return describe_gguf(synth_models.reranker_cls["F16"])


def violations(error: pytest.ExceptionInfo[InvalidArgumentError]) -> list[tuple[str, str]]:
    assert error.value.reason == "INVALID_ARGUMENT"
    return [(v.field, v.description) for v in error.value.violations]


EMBED_CASES = {
    "no inputs": ([], None, [("inputs", "at least one entry is required in inputs")]),
    "too many inputs": (["a"] * 4, None, [("inputs", "4 entries; at most 3 per message")]),
    "empty and blank": (["ok", "", " \t"], None, [("inputs[1]", "empty text"), ("inputs[2]", "empty text")]),
    "too long": (["x" * 11], None, [("inputs[0]", "11 characters; at most 10 per text")]),
    "dimensions above the model's": (
        ["x"], 257, [("dimensions", "257 is more than the 256 dimensions of qwen3-embedding-tiny")]
    ),
    "dimensions below 32": (
        ["x"], 31, [("dimensions", "31 is fewer than 32, the smallest Matryoshka cut; leave dimensions out for all 256")]
    ),
    "dimensions 0 (HTTP sends it; gRPC's 0 is unset)": (
        ["x"], 0, [("dimensions", "0 is fewer than 32, the smallest Matryoshka cut; leave dimensions out for all 256")]
    ),
}


@pytest.mark.parametrize(("inputs", "dims", "expected"), EMBED_CASES.values(), ids=EMBED_CASES.keys())
def test_embed_rules(
    embedding: GgufDescription, inputs: list[str], dims: int | None, expected: list[tuple[str, str]]
) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        validate_embed(EmbedCall("", inputs, EmbedOptions(dimensions=dims)), LIMITS, embedding)
    assert violations(caught) == expected


def test_every_violation_at_once(embedding: GgufDescription) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        validate_embed(EmbedCall("", ["", "ok", ""], EmbedOptions(dimensions=8)), LIMITS, embedding)
    assert [field for field, _ in violations(caught)] == ["inputs[0]", "inputs[2]", "dimensions"]
    assert caught.value.message == "3 invalid fields"


def test_rerank_rules() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        validate_rerank(RerankCall("", " ", []), LIMITS)
    assert violations(caught) == [("query", "the query is empty"), ("documents", "at least one entry is required in documents")]
    with pytest.raises(InvalidArgumentError) as caught:
        validate_rerank(RerankCall("", "q" * 11, ["fine", ""]), LIMITS, index_offset=5)
    assert violations(caught) == [("query", "11 characters; at most 10 per text"), ("documents[6]", "empty text")]
    validate_rerank(RerankCall("", "q", []), LIMITS, header=True)  # a stream's first message may carry none


def test_top_n_beyond_the_documents() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        validate_top_n(RerankCall("", "q", ["a", "b"], top_n=3))
    assert violations(caught) == [("top_n", "top_n is 3 but there are 2 documents; 0 returns all")]
    validate_top_n(RerankCall("", "q", ["a", "b"], top_n=2))


def test_tokenize_rules(embedding: GgufDescription, reranker: GgufDescription) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        validate_tokenize(TokenizeCall("", []), LIMITS, embedding)
    assert violations(caught) == [("inputs", "at least one entry is required in inputs")]
    with pytest.raises(InvalidArgumentError) as caught:
        validate_tokenize(TokenizeCall("", ["doc"]), LIMITS, reranker)
    assert violations(caught) == [("query", "a reranker counts query+document pairs: set query")]
    validate_tokenize(TokenizeCall("", ["doc"], query="q"), LIMITS, reranker)


def test_instruction_and_the_whole_message_are_bounded(embedding: GgufDescription, reranker: GgufDescription) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        validate_embed(EmbedCall("", ["fine"], EmbedOptions(instruction="i" * 11)), LIMITS, embedding)
    assert violations(caught) == [("instruction", "11 characters; at most 10 per text")]
    with pytest.raises(InvalidArgumentError) as caught:
        validate_embed(EmbedCall("", ["x" * 9, "y" * 9], EmbedOptions(instruction="z" * 9)), LIMITS, embedding)
    assert violations(caught) == [("inputs", "27 characters in all; at most 25 per message")]
    with pytest.raises(InvalidArgumentError) as caught:
        validate_rerank(RerankCall("", "q", ["d"], instruction="i" * 11), LIMITS)
    assert violations(caught) == [("instruction", "11 characters; at most 10 per text")]
    with pytest.raises(InvalidArgumentError) as caught:
        validate_tokenize(TokenizeCall("", ["doc"], query="q" * 11), LIMITS, reranker)
    assert violations(caught) == [("query", "11 characters; at most 10 per text")]


def test_an_answer_larger_than_a_message_is_refused_up_front(embedding: GgufDescription) -> None:
    big = Limits(max_inputs=100, max_chars=1000, max_request_chars=100_000, max_response_bytes=4096)
    with pytest.raises(InvalidArgumentError) as caught:
        validate_embed(EmbedCall("", ["x"] * 4, EmbedOptions()), big, embedding)  # 4 x (256 x 4 + 32) bytes
    assert violations(caught) == [
        (
            "inputs",
            "the answer would take up to 4224 bytes, more than the 4096-byte message limit; send fewer inputs per "
            "call, or ask for fewer dimensions",
        )
    ]
    validate_embed(EmbedCall("", ["x"] * 4, EmbedOptions(dimensions=128)), big, embedding)
    validate_embed(EmbedCall("", ["x"] * 4, EmbedOptions(), encoding="int8"), big, embedding)
    with pytest.raises(InvalidArgumentError) as caught:
        validate_tokenize(TokenizeCall("", ["é" * 228], return_tokens=True), big, embedding)  # 456 bytes x 9
    assert violations(caught) == [
        (
            "return_tokens",
            "the answer would take up to 4104 bytes, more than the 4096-byte message limit; ask for fewer inputs, or "
            "for counts only",
        )
    ]
    validate_tokenize(TokenizeCall("", ["é" * 228]), big, embedding)


def test_the_rules_live_only_in_validation() -> None:
    """No other module of the service checks dimensions or text lengths: one rule, one place."""
    service = Path(__file__).resolve().parents[2] / "service"
    for path in service.rglob("*.py"):
        if path.name == "validation.py" or "generated" in path.parts:
            continue
        text = path.read_text()
        assert "MIN_DIMENSIONS" not in text or path.name == "values.py", path
        assert "max_chars" not in text or path.name == "application.py", path
