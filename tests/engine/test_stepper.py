"""Continuous batching: short steps, long sequences split over them, queries first, KV cells never overbooked."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from router.types import EngineSettings

from service.core.values import EmbedOptions
from service.engine import Model, load_model
from service.engine.stepper import EXACT_LAST_PIECE, Step
from router.types import QUERY_WINDOW_S
from tests.conftest import SynthModels

LINES = [f"line {i}: the river bends past the mill and the old stone bridge." for i in range(12)]
DOCUMENT = " ".join(LINES)
QUERY = "Where is the old bridge?"
OPTIONS = EmbedOptions()


def loaded(path: Path, **settings: int | bool) -> Iterator[Model]:
    model = load_model(path, EngineSettings(**settings))
    yield model
    model.close()


@pytest.fixture(scope="module")
def small_steps(synth_models: SynthModels) -> Iterator[Model]:
    """32-token steps, a 256-cell cache, two slots: every limit is reached by a few sentences."""
    yield from loaded(synth_models.embedding["F32"], n_ctx=256, n_batch=32, n_seq_max=2)


@pytest.fixture(scope="module")
def long_steps(synth_models: SynthModels) -> Iterator[Model]:
    """128-token steps on a CPU: 64-token ones while queries come."""
    yield from loaded(synth_models.embedding["F32"], n_ctx=512, n_batch=128)


@pytest.fixture(scope="module")
def one_decode(synth_models: SynthModels) -> Iterator[Model]:
    yield from loaded(synth_models.embedding["F32"], n_ctx=512, n_batch=512)


def tokens(model: Model, text: str) -> list[int]:
    return model.prepare_embed(text, OPTIONS).tokens


def drain(model: Model) -> Iterator[Step[str]]:
    while model.stepper.busy:
        yield model.stepper.step()


def test_a_sequence_split_over_steps_equals_one_decode(small_steps: Model, one_decode: Model) -> None:
    doc = tokens(small_steps, DOCUMENT)
    assert len(doc) > 5 * 32
    small_steps.stepper.add("doc", doc)
    steps = list(drain(small_steps))
    assert [s.n_tokens for s in steps[:-1]] == [32] * (len(steps) - 1)
    assert steps[-1].n_tokens == len(doc) - 32 * (len(steps) - 1)
    [(key, row)] = steps[-1].finished
    whole = one_decode.embed([DOCUMENT], OPTIONS)[0].vector
    got = small_steps.embedding(row, small_steps.prepare_embed(DOCUMENT, OPTIONS), OPTIONS).vector
    np.testing.assert_allclose(got, whole, atol=2e-5)


def test_rerankers_split_over_steps_score_the_same(synth_models: SynthModels) -> None:
    query, documents = "Which bridge?", [DOCUMENT, "The stone bridge by the mill.", DOCUMENT[:200]]
    for form in (synth_models.reranker_cls, synth_models.reranker_lm):
        scores = []
        for n_batch in (32, 512):
            for model in loaded(form["F32"], n_ctx=512, n_batch=n_batch):
                scores.append([s.score for s in model.rerank(query, documents)])
        np.testing.assert_allclose(scores[0], scores[1], atol=1e-5)
        assert len(set(np.round(scores[0], 6))) == 3


def test_an_urgent_query_overtakes_a_document_in_flight(small_steps: Model, one_decode: Model) -> None:
    stepper = small_steps.stepper
    stepper.add("doc", tokens(small_steps, DOCUMENT))
    first = stepper.step()
    assert (first.keys, first.n_tokens, first.finished) == (["doc"], 32, [])
    query = tokens(small_steps, QUERY)
    stepper.add("query", query, urgent=True)
    second = stepper.step()
    assert (second.keys, second.n_tokens) == (["query"], len(query))  # on a CPU the query's step is its own
    assert [key for key, _ in second.finished] == ["query"]
    rows = dict(second.finished)
    for step in drain(small_steps):
        rows.update(step.finished)
    for key, text in (("query", QUERY), ("doc", DOCUMENT)):
        got = small_steps.embedding(rows[key], small_steps.prepare_embed(text, OPTIONS), OPTIONS).vector
        np.testing.assert_allclose(got, one_decode.embed([text], OPTIONS)[0].vector, atol=2e-5)


def test_a_short_urgent_sequence_overtakes_a_long_urgent_one(small_steps: Model, one_decode: Model) -> None:
    """A long query-side prompt decoded step by step does not hold a one-line query back (issue #33 item 4)."""
    stepper = small_steps.stepper
    stepper.add("long query", tokens(small_steps, DOCUMENT), urgent=True)
    assert stepper.step().keys == ["long query"]
    query = tokens(small_steps, QUERY)
    stepper.add("query", query, urgent=True)
    second = stepper.step()
    assert second.keys[0] == "query" and second.n_tokens == 32
    assert [key for key, _ in second.finished] == ["query"]
    rows = dict(second.finished)
    for step in drain(small_steps):
        rows.update(step.finished)
    for key, text in (("query", QUERY), ("long query", DOCUMENT)):
        got = small_steps.embedding(rows[key], small_steps.prepare_embed(text, OPTIONS), OPTIONS).vector
        np.testing.assert_allclose(got, one_decode.embed([text], OPTIONS)[0].vector, atol=2e-5)


def test_steps_shrink_while_queries_come(long_steps: Model, one_decode: Model) -> None:
    stepper = long_steps.stepper
    now = [100.0]
    stepper.clock = lambda: now[0]
    try:
        assert (stepper.step_tokens, stepper.query_step_tokens) == (128, 64)
        for key in ("doc1", "doc2"):
            stepper.add(key, tokens(long_steps, DOCUMENT))
        steps = [stepper.step()]
        stepper.add("query", tokens(long_steps, QUERY), urgent=True)
        steps.append(stepper.step())
        now[0] += QUERY_WINDOW_S - 0.1
        steps.append(stepper.step())
        now[0] += 0.1
        steps += drain(long_steps)
        # Documents alone: long steps; the query's own step; query-sized steps for QUERY_WINDOW_S
        # (the next query would wait for half as long); then long steps again.
        assert [s.n_tokens for s in steps[:4]] == [128, len(tokens(long_steps, QUERY)), 64, 128]
        rows = {key: row for step in steps for key, row in step.finished if key != "query"}
        assert sorted(rows) == ["doc1", "doc2"]
        want = one_decode.embed([DOCUMENT], OPTIONS)[0].vector
        for row in rows.values():
            got = long_steps.embedding(row, long_steps.prepare_embed(DOCUMENT, OPTIONS), OPTIONS).vector
            np.testing.assert_allclose(got, want, atol=2e-5)
    finally:
        stepper.clock = time.monotonic


def test_slots_and_cells_are_never_overbooked(small_steps: Model, one_decode: Model) -> None:
    """Six sequences of 60-200 tokens through two slots and 256 cells: each waits its turn and is exact."""
    texts = [" ".join(LINES[:n]) for n in (4, 7, 12, 9, 5, 11)]
    lengths = {f"t{i}": len(tokens(small_steps, t)) for i, t in enumerate(texts)}
    assert max(lengths.values()) > 128 and sum(lengths.values()) > 3 * 256
    for key, text in zip(lengths, texts):
        small_steps.stepper.add(key, tokens(small_steps, text))
    in_flight: set[str] = set()
    rows = {}
    for step in drain(small_steps):
        in_flight |= set(step.keys)
        assert len(in_flight) <= 2 and sum(lengths[k] for k in in_flight) <= 256, in_flight
        assert step.n_tokens <= 32
        for key, row in step.finished:
            in_flight.discard(key)
            rows[key] = row
    assert sorted(rows) == sorted(lengths)
    expected = one_decode.embed(texts, OPTIONS)
    for key, text, want in zip(lengths, texts, expected):
        got = small_steps.embedding(rows[key], small_steps.prepare_embed(text, OPTIONS), OPTIONS).vector
        np.testing.assert_allclose(got, want.vector, atol=2e-5)


def test_a_dropped_sequence_frees_its_cells(small_steps: Model, one_decode: Model) -> None:
    stepper = small_steps.stepper
    big = DOCUMENT
    assert len(tokens(small_steps, big)) > 128  # two of them do not fit 256 cells
    stepper.add("gone", tokens(small_steps, big))
    stepper.add("next", tokens(small_steps, big))
    assert stepper.step().keys == ["gone"]
    assert stepper.step().keys == ["gone"]  # "next" waits for cells
    stepper.drop(lambda key: key == "gone")
    rows = {}
    for step in drain(small_steps):
        assert step.keys == ["next"]
        rows.update(step.finished)
    got = small_steps.embedding(rows["next"], small_steps.prepare_embed(big, OPTIONS), OPTIONS).vector
    np.testing.assert_allclose(got, one_decode.embed([big], OPTIONS)[0].vector, atol=2e-5)


def test_on_a_gpu_the_query_step_is_filled_with_documents(small_steps: Model) -> None:
    stepper = small_steps.stepper
    stepper.urgent_alone = False
    try:
        stepper.add("doc", tokens(small_steps, DOCUMENT))
        stepper.step()
        query = tokens(small_steps, QUERY)
        stepper.add("query", query, urgent=True)
        second = stepper.step()
        assert (second.keys, second.n_tokens) == (["query", "doc"], 32)
        assert [key for key, _ in second.finished] == ["query"]
        list(drain(small_steps))
    finally:
        stepper.urgent_alone = True


def test_with_flash_attention_a_split_sequences_last_piece_holds_64_tokens(synth_models: SynthModels) -> None:
    """ggml's CPU flash-attention kernel sums a decode of fewer than 64 tokens in half precision, and
    the last piece holds the token whose state is the vector (docs/engine-tuning.md section 11)."""
    text = " ".join(f"line {i}: the river bends past the mill and the old stone bridge." for i in range(17))
    for model in loaded(synth_models.embedding["F32"], n_ctx=512, n_batch=128, flash_attn=True):
        doc = tokens(model, text)
        assert len(doc) == 280  # two 128-token steps and 24 tokens
        assert model.stepper.last_piece == EXACT_LAST_PIECE == 64
        model.stepper.add("doc", doc)
        assert [step.n_tokens for step in drain(model)] == [128, 88, 64]
    for model in loaded(synth_models.embedding["F32"], n_ctx=512, n_batch=128):
        assert model.stepper.last_piece == 0  # unfused attention: any split
        model.stepper.add("doc", tokens(model, text))
        assert [step.n_tokens for step in drain(model)] == [128, 128, 24]
    for model in loaded(synth_models.embedding["F32"], n_ctx=512, n_batch=32, flash_attn=True):
        assert model.stepper.last_piece == 0  # a 32-token step could never hold a 64-token last piece
