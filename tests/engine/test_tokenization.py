"""llama.cpp's tokenisation of the rebuilt Qwen vocabulary equals Hugging Face's reference tokenizer."""

from __future__ import annotations

import pytest

from service.core.values import EmbedOptions
from service.engine import Model
from tests.reference.qwen_tokenizer_hf import reference_tokenizer

MULTILINGUAL = [
    "What is the capital of China?",
    "  leading spaces, trailing tabs\t\t and\nnew lines\r\n",
    "Der Bundestag beschließt Änderungen am Grundgesetz.",
    "La création d'un café à Montréal coûte cher.",
    "中华人民共和国的首都是北京。",
    "東京は日本の首都です。カタカナとひらがな。",
    "서울은 대한민국의 수도입니다.",
    "Москва — столица России.",
    "مرحبا بالعالم",
    "emoji 🚀🔥👩‍👩‍👧‍👦 and flags 🇨🇳🇩🇪",
    "numbers 1234567890 3.14159 1e-6 0x1F",
    "code: def f(x): return x**2  # comment",
    "I'm sure they'll say it's what we've done, isn't it? I'd LIKE it.",
    "Cafe\u0301 written with a combining accent",
]


@pytest.mark.parametrize("text", MULTILINGUAL)
def test_matches_reference_tokenizer(embedder: Model, text: str) -> None:
    expected = reference_tokenizer().encode(text, add_special_tokens=False).ids
    # The engine's prompt path is what must match: it NFC-normalises like the reference does.
    prepared = embedder.prepare_embed(text, EmbedOptions())
    assert prepared.tokens[:-1] == expected


def test_model_card_sentence_has_known_ids(embedder: Model) -> None:
    assert embedder.tokenize("What is the capital of China?") == [3838, 374, 279, 6722, 315, 5616, 30]


@pytest.mark.parametrize("text", MULTILINGUAL[:-1])
def test_detokenize_round_trips(embedder: Model, text: str) -> None:
    assert embedder.detokenize(embedder.tokenize(text)) == text
