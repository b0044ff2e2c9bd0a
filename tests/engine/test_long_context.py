"""A long input in one sequence (issue #31): the tiny Qwen3 loaded with its whole trained context,
32,768 tokens, embeds a 30,000-token input as one sequence (split over steps, never over windows),
and the vector is the numpy reference's over the same tokens at F32 (about 3 minutes on 2 cores,
most of it the reference's quadratic attention)."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import numpy as np
import pytest

from router.types import EngineSettings
from service.core.errors import InputTooLongError
from service.core.values import EmbedOptions
from service.engine import Model, load_model
from tests.conftest import SynthModels
from tests.reference.qwen3_numpy import Qwen3Reference

N_TOKENS = 30_000
WORDS = "river stone lantern quiet orbit maple signal harbor velvet ember canyon thistle meadow".split()


def _text(model: Model, n_tokens: int) -> str:
    """Seeded prose of exactly `n_tokens` tokens of the model's tokenizer: the most words that fit
    (found by bisection), then one-token words to the count."""
    rng = random.Random(31)
    words = [rng.choice(WORDS) + ("." if rng.random() < 0.1 else "") for _ in range(n_tokens)]
    low, high = 0, len(words)
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if len(model.tokenize(" ".join(words[:middle]))) <= n_tokens else (low, middle - 1)
    text = " ".join(words[:low])
    while len(model.tokenize(text)) < n_tokens:
        text += " the"
    assert len(model.tokenize(text)) == n_tokens
    return text


@pytest.fixture(scope="module")
def long_model(synth_models: SynthModels) -> Iterator[Model]:
    """1,024-token steps with flash attention (a GPU's layout, on the CPU): the default CPU layout
    (128-token steps, no flash attention) gives the same vector but takes minutes at 30,000 tokens."""
    settings = EngineSettings(n_ctx=32768, n_seq_max=4, n_batch=1024, flash_attn=True)
    model = load_model(synth_models.embedding["F32"], settings)
    yield model
    model.close()


def test_a_30000_token_input_embeds_in_one_sequence_as_the_reference_does(
    long_model: Model, reference_embedder: Qwen3Reference
) -> None:
    assert long_model.n_ctx == 32768 == long_model.description.context_length
    text = _text(long_model, N_TOKENS)
    options = EmbedOptions()
    prepared = long_model.prepare_embed(text, options)
    assert len(prepared.tokens) == N_TOKENS + 1  # the text and the end-of-text token, uncut
    started = time.monotonic()
    (got,) = long_model.embed_prepared([prepared], options)
    elapsed = time.monotonic() - started
    assert got.n_tokens == N_TOKENS + 1
    want = reference_embedder.embed(prepared.tokens)
    cosine = float(np.dot(got.vector, want))
    assert cosine >= 0.99999, (cosine, elapsed)


def test_past_the_loaded_context_is_refused_with_both_numbers(long_model: Model) -> None:
    text = _text(long_model, 32768)  # with the end-of-text token, one more than the context
    with pytest.raises(InputTooLongError) as refused:
        long_model.prepare_embed(text, EmbedOptions())
    assert (refused.value.n_tokens, refused.value.limit) == (32769, 32768)
    assert str(refused.value).startswith("input is 32769 tokens, the model accepts at most 32768")
