"""Qwen3-Reranker scores in both GGUF forms against the numpy reference."""

from __future__ import annotations

import pytest

from service.engine import Model
from service.prepare.synth.vocab import qwen3_vocabulary
from tests.reference.qwen3_numpy import F64, Qwen3Reference

QUERY = "What is the capital of China?"
DOCUMENTS = [
    "The capital of China is Beijing.",
    "Gravity is a force that attracts two bodies towards each other.",
    "北京是中华人民共和国的首都。",
    "",
]


def _reference_scores(model: Model, reference: Qwen3Reference, head: F64, instruction: str | None) -> list[float]:
    vocab = qwen3_vocabulary()
    yes, no = vocab.id_of("yes"), vocab.id_of("no")
    return [
        reference.p_yes(model.prepare_rerank(QUERY, doc, instruction, False).tokens, yes, no, head) for doc in DOCUMENTS
    ]


@pytest.mark.parametrize("form", ["reranker_cls", "reranker_lm"])
def test_scores_match_reference(
    form: str, request: pytest.FixtureRequest, reference_reranker: Qwen3Reference, lm_head: F64
) -> None:
    model: Model = request.getfixturevalue(form)
    expected = _reference_scores(model, reference_reranker, lm_head, None)
    got = [s.score for s in model.rerank(QUERY, DOCUMENTS)]
    assert got == pytest.approx(expected, abs=2e-3)


def test_both_forms_agree(reranker_cls: Model, reranker_lm: Model) -> None:
    assert reranker_cls.uses_rank_head and not reranker_lm.uses_rank_head
    cls_scores = [s.score for s in reranker_cls.rerank(QUERY, DOCUMENTS)]
    lm_scores = [s.score for s in reranker_lm.rerank(QUERY, DOCUMENTS)]
    assert cls_scores == pytest.approx(lm_scores, abs=2e-3)


def test_instruction_is_part_of_the_prompt(
    reranker_lm: Model, reference_reranker: Qwen3Reference, lm_head: F64
) -> None:
    instruction = "Judge whether the document is written in Chinese"
    expected = _reference_scores(reranker_lm, reference_reranker, lm_head, instruction)
    got = [s.score for s in reranker_lm.rerank(QUERY, DOCUMENTS, instruction=instruction)]
    default = [s.score for s in reranker_lm.rerank(QUERY, DOCUMENTS)]
    assert got == pytest.approx(expected, abs=2e-3)
    assert got != pytest.approx(default, abs=1e-4)


def test_rerank_reports_input_order_and_tokens(reranker_cls: Model) -> None:
    results = reranker_cls.rerank(QUERY, DOCUMENTS)
    assert [r.index for r in results] == [0, 1, 2, 3]
    lengths = [len(reranker_cls.prepare_rerank(QUERY, d, None, False).tokens) for d in DOCUMENTS]
    assert [r.n_tokens for r in results] == lengths
