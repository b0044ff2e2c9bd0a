"""llama.cpp's WordPiece (WPM) on our GGUF against Hugging Face `tokenizers` on tokenizer.json."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer

from service.core.values import EmbedOptions
from service.engine import Model
from service.prepare.hf2gguf.evaluate import load_set

TRICKY = [
    "Don't stop-believing!!",
    "U.S.A. costs $3.50 (approx.) -- e.g. 10%",
    "naïve façade résumé Zürich ÉCOLE",
    "CamelCaseWordsAndALLCAPS",
    "http://example.com/path?x=1&y=2 and foo.bar@baz.org",
    "tab\tseparated\nnew line   and  spaces ",
    "1,000,000 and 3.14159",
    "antidisestablishmentarianism",
    "emoji 😀 here, “quotes” — and a dash",
    "中文字符 mixed with English",
]


def _hf(checkpoint: Path) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(checkpoint / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def test_english_sample_tokenises_identically(minilm_f32: Model, checkpoint: Path) -> None:
    hf = _hf(checkpoint)
    data = load_set()
    texts = data.passages + data.queries + TRICKY
    mismatches = [t for t in texts if minilm_f32.tokenize(t) != hf.encode(t, add_special_tokens=False).ids]
    assert mismatches == []
    assert len(texts) == 229


def test_engine_wraps_text_in_cls_and_sep(minilm_f32: Model, checkpoint: Path) -> None:
    prepared = minilm_f32.prepare_embed("Hello, World!", EmbedOptions())
    assert prepared.tokens == _hf(checkpoint).encode("Hello, World!").ids == [101, 7592, 1010, 2088, 999, 102]
    assert prepared.n_user_tokens == 4


def test_special_token_text_is_plain_text(minilm_f32: Model) -> None:
    """Unlike HF (which parses "[SEP]" in raw text), user text never injects control tokens."""
    assert minilm_f32.tokenize("[SEP]") == [1031, 19802, 1033]


def test_detokenize_round_trip(minilm_f32: Model) -> None:
    assert minilm_f32.detokenize(minilm_f32.tokenize("The Quick brown fox")).strip() == "the quick brown fox"
