"""Shared prefixes: a rerank's query and a query's instruction are decoded once, and nothing else changes.

Every comparison runs the same prompts through a model with sharing on and one with it
off (the only difference between the two fixtures), on the F32 test models.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from pathlib import Path

import llama_cpp
import numpy as np
import numpy.typing as npt
import pytest

from router.types import EngineSettings

from service.core.values import EmbedOptions, PreparedInput
from service.engine import Model, load_model
from tests.conftest import SynthModels

QUERY = "Which bridge crosses the river by the mill?"
LINES = [f"line {i}: the river bends past the mill and the old stone bridge." for i in range(14)]
DOCUMENTS = [
    "The stone bridge by the mill.",
    "A cat sleeps on the warm mat.",
    " ".join(LINES),  # longer than several 32-token steps
    "Bridges of the river, counted from the sea.",
    " ".join(LINES[:5]),
    "",
]
WORST: dict[str, float] = {}
"""Measured worst differences, printed at the end (`pytest -s`) for the report."""


def loaded(path: Path, **settings: object) -> Iterator[Model]:
    model = load_model(path, EngineSettings(**settings))  # type: ignore[arg-type]
    yield model
    model.close()


@pytest.fixture(scope="module", params=["reranker_cls", "reranker_lm"])
def rerankers(request: pytest.FixtureRequest, synth_models: SynthModels) -> Iterator[tuple[Model, Model]]:
    """The same reranker file with and without sharing: 32-token steps, so documents span steps."""
    path = getattr(synth_models, request.param)["F32"]
    for on in loaded(path, n_ctx=512, n_batch=32, prefix_cache_cells=0):
        for off in loaded(path, n_ctx=512, n_batch=32, share_prefixes=False):
            yield on, off


@pytest.fixture(scope="module")
def embedders(synth_models: SynthModels) -> Iterator[tuple[Model, Model]]:
    path = synth_models.embedding["F32"]
    for on in loaded(path, n_ctx=512, n_batch=32, prefix_cache_cells=128):
        for off in loaded(path, n_ctx=512, n_batch=32, share_prefixes=False):
            yield on, off


def decode(model: Model, items: Sequence[PreparedInput], urgent: bool = False) -> tuple[list[npt.NDArray[np.float32]], int]:
    """Every item's output row and the tokens the decodes took."""
    for index, item in enumerate(items):
        model.stepper.add(index, item.tokens, urgent=urgent, shared=item.n_shared)
    rows: dict[Hashable, npt.NDArray[np.float32]] = {}
    decoded = 0
    while model.stepper.busy:
        step = model.stepper.step()
        rows.update(step.finished)
        decoded += step.n_tokens
    return [rows[i] for i in range(len(items))], decoded


def scores(model: Model, items: Sequence[PreparedInput]) -> tuple[npt.NDArray[np.float64], int]:
    rows, decoded = decode(model, items)
    return np.array([model.score(row) for row in rows]), decoded


def cosines(a: Sequence[npt.NDArray[np.float32]], b: Sequence[npt.NDArray[np.float32]]) -> npt.NDArray[np.float64]:
    return np.array([float(x @ y / np.linalg.norm(x) / np.linalg.norm(y)) for x, y in zip(a, b, strict=True)])


def slot_ends(model: Model) -> list[int]:
    """llama.cpp's own view: the last position each slot holds cells for (-1: none)."""
    memory = llama_cpp.llama_get_memory(model._rt._ctx)
    return [int(llama_cpp.llama_memory_seq_pos_max(memory, slot)) for slot in range(model._rt.n_seq_max)]


def note(name: str, value: float) -> None:
    WORST[name] = max(WORST.get(name, 0.0), value)


def test_rerank_scores_with_sharing_equal_those_without(rerankers: tuple[Model, Model]) -> None:
    on, off = rerankers
    items = [on.prepare_rerank(QUERY, doc, None, False) for doc in DOCUMENTS]
    shared = items[0].n_shared
    assert shared > 40 and all(item.n_shared == shared for item in items)
    assert items[0].tokens[:shared] == items[2].tokens[:shared]
    with_sharing, decoded_on = scores(on, items)
    without, decoded_off = scores(off, items)
    note("rerank |dp|", float(np.abs(with_sharing - without).max()))
    np.testing.assert_allclose(with_sharing, without, atol=1e-4)
    assert len(set(np.round(without, 6))) == len(DOCUMENTS)
    total = sum(len(item.tokens) for item in items)
    assert decoded_off == total
    assert decoded_on == total - (len(items) - 1) * shared  # the prefix once, every document's own tokens
    assert slot_ends(on) == [-1] * on._rt.n_seq_max  # no cache: every cell is free again


def test_truncated_documents_are_cut_never_the_prefix(synth_models: SynthModels) -> None:
    for form in (synth_models.reranker_cls, synth_models.reranker_lm):
        for on in loaded(form["F32"], n_ctx=256, n_batch=32):
            for off in loaded(form["F32"], n_ctx=256, n_batch=32, share_prefixes=False):
                items = [on.prepare_rerank(QUERY, doc, "Find the bridge", True) for doc in DOCUMENTS]
                assert items[2].truncated and len(items[2].tokens) == 256
                assert len({item.tokens[: item.n_shared].__len__() for item in items}) == 1
                with_sharing, _ = scores(on, items)
                without, _ = scores(off, items)
                note("rerank |dp| truncated", float(np.abs(with_sharing - without).max()))
                np.testing.assert_allclose(with_sharing, without, atol=1e-4)


def test_instructed_query_vectors_with_sharing_equal_those_without(embedders: tuple[Model, Model]) -> None:
    on, off = embedders
    queries = ["Where is the bridge?", "mill", "Which river bends past the old stone bridge and the mill?"]
    tasks = [None, "Find the passage about bridges"]
    options = [EmbedOptions(input_type="query", instruction=task) for task in tasks]
    items = [on.prepare_embed(q, opt) for opt in options for q in queries]
    assert all(item.n_shared >= 10 for item in items)
    rows_on, decoded_on = decode(on, items, urgent=True)
    rows_off, decoded_off = decode(off, items, urgent=True)
    cos = cosines(rows_on, rows_off)
    note("query 1 - cosine", float(1 - cos.min()))
    assert cos.min() >= 0.99999
    total = sum(len(item.tokens) for item in items)
    per_task = [items[0].n_shared, items[len(queries)].n_shared]
    assert decoded_off == total
    assert decoded_on == total - (len(queries) - 1) * sum(per_task)
    # The two prefixes are kept: the next query of the default instruction decodes only its own tokens.
    assert on.stepper.kv.cached_prefixes == 2 and on.stepper.kv.cached == sum(per_task)
    again = on.prepare_embed("a bridge", options[0])
    [row], decoded = decode(on, [again], urgent=True)
    assert decoded == len(again.tokens) - again.n_shared
    [want], _ = decode(off, [again], urgent=True)
    assert cosines([row], [want])[0] >= 0.99999


def test_documents_without_instruction_share_nothing(embedders: tuple[Model, Model]) -> None:
    on, _ = embedders
    items = [on.prepare_embed(doc, EmbedOptions()) for doc in DOCUMENTS[:5]]
    assert all(item.n_shared == 0 for item in items)
    _, decoded = decode(on, items)
    assert decoded == sum(len(item.tokens) for item in items)


def test_the_prefix_cache_stays_within_its_budget(synth_models: SynthModels) -> None:
    for model in loaded(synth_models.embedding["F32"], n_ctx=512, n_batch=64, n_seq_max=16, prefix_cache_cells=100):
        seen = []
        for i in range(40):
            item = model.prepare_embed("Where is the bridge?", EmbedOptions(input_type="query", instruction=f"Task number {i} of many"))
            decode(model, [item], urgent=True)
            kv = model.stepper.kv
            seen.append(kv.cached)
            assert kv.cached <= 100 and kv.used == kv.cached and kv.lent == 0
            assert kv.free_slots == 16 - kv.cached_prefixes
            ends = slot_ends(model)
            assert sum(end >= 0 for end in ends) == kv.cached_prefixes  # llama.cpp holds exactly the kept prefixes
        assert max(seen) > 100 - item.n_shared  # the budget was reached, and kept


def test_the_context_fills_with_sharing_sequences_and_never_overflows(synth_models: SynthModels) -> None:
    """256 cells hold two whole prompts, or the prefix once and the own tokens of many documents."""
    for model in loaded(synth_models.reranker_lm["F32"], n_ctx=256, n_batch=256, prefix_cache_cells=0):
        docs = [f"Document {i}: a bridge over the river, by the mill, made of stone." for i in range(20)]
        items = [model.prepare_rerank(QUERY, doc, None, False) for doc in docs]
        shared = items[0].n_shared
        own = [len(item.tokens) - shared for item in items]
        assert 256 // len(items[0].tokens) == 2
        fits = max(k for k in range(len(own) + 1) if shared + sum(own[:k]) <= 256)
        fits = min(fits, model._rt.n_seq_max - 2)  # a slot for the prefix and one kept for queries
        assert fits > 4
        stepper = model.stepper
        for index, item in enumerate(items):
            stepper.add(index, item.tokens, shared=item.n_shared)
        first = stepper.step()  # a decode past the free cells would fail in llama.cpp
        assert first.keys == list(range(fits)) and len(first.finished) == fits
        assert first.n_tokens == shared + sum(own[:fits])
        rows = dict(first.finished)
        while stepper.busy:
            step = stepper.step()
            assert stepper.kv.committed <= 256 and stepper.kv.used <= 256
            rows.update(step.finished)
        assert stepper.kv.used == stepper.kv.committed == 0  # freed with the last user
        assert slot_ends(model) == [-1] * model._rt.n_seq_max
        for off in loaded(synth_models.reranker_lm["F32"], n_ctx=256, n_batch=256, share_prefixes=False):
            without, _ = scores(off, items)
            note("rerank |dp| full context", float(np.abs(np.array([model.score(rows[i]) for i in range(len(items))]) - without).max()))
            np.testing.assert_allclose([model.score(rows[i]) for i in range(len(items))], without, atol=1e-4)


def test_a_cancelled_request_frees_its_cells_and_the_shared_ones_with_the_last(synth_models: SynthModels) -> None:
    for model in loaded(synth_models.reranker_lm["F32"], n_ctx=512, n_batch=128, prefix_cache_cells=0):
        stepper = model.stepper
        long_doc = " ".join(LINES[:8])
        items = [model.prepare_rerank(QUERY, doc, None, False) for doc in ("A bridge.", long_doc, long_doc)]
        shared = items[0].n_shared
        for index, item in enumerate(items):
            stepper.add(index, item.tokens, shared=item.n_shared)
        first = stepper.step()  # the prefix, document 0 whole, the start of document 1
        assert first.keys == [0, 1] and [key for key, _ in first.finished] == [0]
        assert slot_ends(model).count(shared - 1) == 1  # document 0 ended: the prefix stays for document 1
        assert stepper.kv.used == 128 - (len(items[0].tokens) - shared)
        stepper.drop(lambda key: key == 1)  # its last user goes: its own cells and the prefix's
        assert stepper.kv.used == 0 and slot_ends(model) == [-1] * model._rt.n_seq_max
        rows = {}
        while stepper.busy:
            rows.update(stepper.step().finished)
        assert list(rows) == [2] and stepper.kv.used == 0 and slot_ends(model) == [-1] * model._rt.n_seq_max
        stepper.add("only", items[1].tokens, shared=shared)
        stepper.step()
        stepper.drop(lambda key: key == "only")  # the last user of a half-decoded prefix: all of it
        assert stepper.kv == type(stepper.kv)(0, 0, 0, 0, 0, model._rt.n_seq_max)
        assert slot_ends(model) == [-1] * model._rt.n_seq_max


def test_a_query_does_not_wait_for_a_document_that_fills_the_context(synth_models: SynthModels) -> None:
    """The document holds every cell; the query borrows the ones it has not decoded yet, or trims its tail."""
    for model in loaded(synth_models.embedding["F32"], n_ctx=256, n_batch=32, prefix_cache_cells=0):
        for whole in loaded(synth_models.embedding["F32"], n_ctx=512, n_batch=512):
            stepper = model.stepper
            doc = model.prepare_embed(" ".join(LINES * 3), EmbedOptions(truncate=True))
            assert len(doc.tokens) == 256
            query = model.prepare_embed("Where is the bridge?", EmbedOptions(input_type="query"))
            stepper.add("doc", doc.tokens)
            for _ in range(7):
                assert stepper.step().keys == ["doc"]
            stepper.add("query", query.tokens, urgent=True, shared=query.n_shared)
            step = stepper.step()
            assert [key for key, _ in step.finished] == ["query"]  # in the very next step
            rows = dict(step.finished)
            late = model.prepare_embed(" ".join(LINES[:3]), EmbedOptions(input_type="query"))
            assert len(late.tokens) > 32  # more than the document has left: its tail is decoded again later
            stepper.add("late", late.tokens, urgent=True)
            for _ in range(-(-len(late.tokens) // 32)):  # its own steps, before any of the document's
                step = stepper.step()
                assert step.keys == ["late"]
            assert [key for key, _ in step.finished] == ["late"]
            rows.update(step.finished)
            while stepper.busy:
                rows.update(stepper.step().finished)
            assert stepper.kv.used == 0
            want_doc = whole.prepare_embed(" ".join(LINES * 3), EmbedOptions(truncate=True))
            assert want_doc.tokens[:255] == doc.tokens[:255]
            for key, item in (("doc", doc), ("query", query), ("late", late)):
                [want] = whole.run([item])
                assert cosines([rows[key]], [want])[0] >= 0.99999


def test_worst_values(capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print("\nworst:", {k: f"{v:.3g}" for k, v in WORST.items()})
