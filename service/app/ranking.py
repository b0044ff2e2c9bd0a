"""Rerank results: sorted best first, and the top_n best kept across a stream's chunks."""

from __future__ import annotations

import heapq

from service.core.requests import RerankCall
from service.core.results import RankedDocument
from service.core.values import RerankScore


def ranked(call: RerankCall, scores: list[RerankScore], index_offset: int = 0) -> list[RankedDocument]:
    """One result per document (`scores` in document order), best first; equal scores keep the documents' order."""
    results = [
        RankedDocument(
            index=index_offset + i,
            score=s.score,
            prompt_tokens=s.n_tokens,
            truncated=s.truncated,
            document=call.documents[i] if call.return_documents else None,
        )
        for i, s in enumerate(scores)
    ]
    return best_first(results)


def best_first(results: list[RankedDocument]) -> list[RankedDocument]:
    """The one order of rerank results: best score first, equal scores by index."""
    return sorted(results, key=lambda r: (-r.score, r.index))


class TopN:
    """The `n` best results seen so far, in bounded memory however many chunks a stream has."""

    def __init__(self, n: int) -> None:
        self._n = n
        self._heap: list[tuple[float, int, RankedDocument]] = []

    def add(self, results: list[RankedDocument]) -> None:
        for result in results if self._n else ():
            entry = (result.score, -result.index, result)
            if len(self._heap) < self._n:
                heapq.heappush(self._heap, entry)
            else:
                heapq.heappushpop(self._heap, entry)

    def best(self) -> list[RankedDocument]:
        return [entry[2] for entry in sorted(self._heap, key=lambda e: (-e[0], -e[1]))]
