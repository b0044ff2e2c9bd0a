"""The retrieval set and its evaluator, on the real model through the engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.prepare.hf2gguf.evaluate import evaluate, load_set, markdown_table, ndcg


def test_set_is_consistent() -> None:
    data = load_set()
    assert (len(data.passages), len(data.queries)) == (175, 44)
    assert len(set(data.passage_ids)) == 175 and len(set(data.query_ids)) == 44
    assert all(rel and rel <= set(data.passage_ids) for rel in data.relevant)


def test_ndcg_by_hand() -> None:
    assert ndcg(["a", "x", "b"], frozenset({"a", "b"})) == pytest.approx((1 + 0.5) / (1 + 1 / 1.584962500721156))
    assert ndcg(["x"] * 10 + ["a"], frozenset({"a"})) == 0.0


def test_minilm_retrieves_and_q8_0_loses_nothing(minilm: dict[str, Path]) -> None:
    data = load_set()
    f32, q8 = (evaluate(minilm[q], data) for q in ("F32", "Q8_0"))
    # 43 of 44 first hits; q43 ("keep garden soil healthy") ranks the tomato-growing passage first.
    assert (f32.recall_at_1, f32.misses) == (43 / 44, ("q43",))
    assert f32.ndcg_at_10 == pytest.approx(0.99393, abs=2e-4)
    assert (q8.recall_at_1, q8.misses) == (f32.recall_at_1, f32.misses)
    table = markdown_table([q8, f32]).splitlines()
    assert table[0].startswith("| quant | bits/weight | MiB | mean cos to F32 |")
    assert table[2].startswith("| F32 | 32.00 | 86.7 | 1.00000 | 1.00000 | 0.977 |")
    assert table[3].startswith("| Q8_0 | 8.74 | 24.1 | 0.999")
