"""Rerank by late interaction: ColBERT's MaxSim over an embedding model's token vectors.

A pooled vector squeezes a document into one point; late interaction keeps a vector per token
and lets each query token find its best match in the document:

    score(q, d) = sum over query tokens i of  max over document tokens j of  q_i . d_j

with every token vector unit-normalised, so each term is a cosine and a score lies in
[-n, n] for a query of n tokens (ColBERT's definition; BGE-M3 divides by n). The query is
read with the query template and each document with the document template, as the cosine
fallback does, and every token of the prompt counts, the template's included: its tokens
match every document about alike, so they shift scores more than they reorder them. One
decode per sequence gives the token states (service.engine.stepper, `every`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from service.app.cosine_rerank import CosineRerankWork
from service.core.values import EmbedOptions
from service.scheduler import Prepared, Row

if TYPE_CHECKING:
    from service.engine import Model


def maxsim(query: npt.NDArray[np.float32], document: npt.NDArray[np.float32]) -> float:
    """Sum over the query's rows of each one's largest dot product with a document row."""
    return float(np.max(query.astype(np.float64) @ document.astype(np.float64).T, axis=1).sum())


@dataclass(frozen=True)
class MaxSimRerankWork(CosineRerankWork):
    """Scheduler work (service.scheduler.Work) that scores documents against a query by MaxSim: the
    cosine fallback's sequences (query and documents, each in its template), read token by token."""

    def prepare(self, model: Model) -> Prepared:
        return replace(super().prepare(model), every=True)

    def finish(self, model: Model, prepared: Prepared, rows: list[Row]) -> list[float]:
        """One MaxSim per document; the query's token states come last."""
        unit = EmbedOptions()
        query = model.token_vectors(rows[-1], prepared.extra[0], unit).vectors
        return [
            maxsim(query, model.token_vectors(row, item, unit).vectors)
            for row, item in zip(rows[:-1], prepared.items, strict=True)
        ]
