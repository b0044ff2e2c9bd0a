"""How a long input is cut into chunks (service.app.chunking.split), with the model's own tokenizer.

Whatever the size and overlap: the spans cover the input exactly, each reaches past the one
before, no chunk has more tokens than asked, no overlap more than asked, and no boundary falls
inside a character a reader sees as one (accents, emoji with modifiers or joiners, flags).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from router.types import EngineSettings
from service.app.chunking import Span, split
from service.engine import Model, load_model
from tests.conftest import SynthModels

# Characters of one or more code points each: no span may start or end inside one.
CLUSTERS = ["e\u0301", "👍🏽", "🇫🇷", "👨\u200d👩\u200d👧", "1\ufe0f\u20e3", "x", "東", " ", ".", "ß"]


@pytest.fixture(scope="module")
def model(synth_models: SynthModels) -> Iterator[Model]:
    loaded = load_model(synth_models.embedding["F32"], EngineSettings(n_ctx=512, n_seq_max=1))
    yield loaded
    loaded.close()


def text_of(clusters: list[str]) -> tuple[str, set[int]]:
    """The text and every index at which a character a reader sees as one begins (and its end)."""
    bounds, at = {0}, 0
    for cluster in clusters:
        at += len(cluster)
        bounds.add(at)
    return "".join(clusters), bounds


def check(text: str, spans: list[Span], count: object, size: int, overlap: int) -> None:
    assert callable(count)
    assert spans[0].start == 0 and spans[-1].end == len(text)
    for before, after in zip(spans, spans[1:]):
        assert before.start < after.start <= before.end < after.end
        assert count(text[after.start : before.end]) <= overlap
    assert all(count(text[s.start : s.end]) <= size for s in spans)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("size", "overlap"), [(16, 0), (16, 15), (40, 8), (128, 32)])
def test_spans_keep_every_promise(model: Model, seed: int, size: int, overlap: int) -> None:
    rng = random.Random(seed)
    text, bounds = text_of([rng.choice(CLUSTERS) for _ in range(900)])

    def count(part: str) -> int:
        return len(model.tokenize(part))

    spans = split(text, count, size, overlap)
    check(text, spans, count, size, overlap)
    assert {s.start for s in spans} | {s.end for s in spans} <= bounds


def test_ends_move_back_to_sentences_then_spaces(model: Model) -> None:
    text = " ".join(f"Sentence number {i} is about the river." for i in range(60))

    def count(part: str) -> int:
        return len(model.tokenize(part))

    for span in split(text, count, 120, 0)[:-1]:  # a sentence is well within a fifth of a chunk
        assert text[span.start : span.end].endswith("river. ")
    words = "word " * 400
    assert all(words[s.start : s.end].endswith(" ") for s in split(words, count, 30, 5)[:-1])


def test_an_input_that_fits_is_one_span(model: Model) -> None:
    assert split("short text", lambda part: len(model.tokenize(part)), 16, 0) == [Span(0, 10)]


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (16, 16), (16, -1)])
def test_impossible_sizes_are_refused(size: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="need size >= 1 and 0 <= overlap < size"):
        split("text", len, size, overlap)
