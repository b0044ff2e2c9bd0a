from __future__ import annotations

from embedroute_client import Client

from .conftest import DOCUMENTS, QUERIES


def test_rerank_scores_every_document_best_first(client: Client) -> None:
    results = client.rerank(QUERIES[0], DOCUMENTS)
    assert sorted(r.index for r in results) == [0, 1]
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert all(r.prompt_tokens > 0 and r.document is None for r in results)


def test_top_n_and_return_documents(client: Client) -> None:
    full = client.rerank(QUERIES[1], DOCUMENTS)
    top = client.rerank(QUERIES[1], DOCUMENTS, top_n=1, return_documents=True)
    assert len(top) == 1
    assert top[0].index == full[0].index
    assert top[0].document == DOCUMENTS[full[0].index]
