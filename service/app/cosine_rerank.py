"""Rerank with no reranker loaded: cosine similarity over the embedding model.

A deployment with only an embedding model (the offline default, all-MiniLM-L6-v2)
should still answer RerankService, because clients written against the full API call
it; failing them would push every client to carry its own fallback. The answer is
honest about it: each response says SCORING_COSINE and names the embedding model, and
ModelService marks that model, because a cosine in [-1, 1] is not a reranker's p(yes)
and thresholds tuned on one mean nothing on the other.

The query is embedded with the query template and the documents with the document
template, as a retrieval model expects; both are unit-normalised, so the dot product
is the cosine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from service.app.work import located
from service.core.results import Scoring
from router.types import GgufDescription
from service.core.values import EmbedOptions
from service.scheduler import Prepared, Row

if TYPE_CHECKING:
    from service.engine import Model


@dataclass(frozen=True)
class CosineRerankWork:
    """Scheduler work (service.scheduler.Work) that scores documents against a query by cosine."""

    query: str
    documents: list[str]
    instruction: str | None
    truncate: bool
    index_offset: int = 0
    positions: list[int] | None = None
    """As `service.app.work.RerankWork.positions`."""

    def prepare(self, model: Model) -> Prepared:
        documents = EmbedOptions(input_type="document", truncate=self.truncate)
        query = EmbedOptions(input_type="query", instruction=self.instruction, truncate=self.truncate)
        return Prepared(
            items=[
                located(f"documents[{self.index_offset + i}]", model.prepare_embed, d, documents)
                for i, d in zip(self.positions or range(len(self.documents)), self.documents, strict=True)
            ],
            extra=[located("query", model.prepare_embed, self.query, query)],
        )

    def finish(self, model: Model, prepared: Prepared, rows: list[Row]) -> list[float]:
        """One cosine per document; the query's row comes last."""
        unit = EmbedOptions()
        query = model.embedding(rows[-1], prepared.extra[0], unit).vector
        return [
            float(np.dot(query, model.embedding(row, item, unit).vector))
            for row, item in zip(rows[:-1], prepared.items, strict=True)
        ]


def scoring(description: GgufDescription) -> Scoring:
    """What the scores of the model that answered mean."""
    return "reranker" if description.kind == "reranker" else "cosine"
