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

from service.api.embedroute.v1 import model_pb2, rerank_pb2
from service.engine.types import EmbedOptions, GgufDescription
from service.scheduler import Prepared, Row

if TYPE_CHECKING:
    from service.engine import Model
    from service.registry import Registry, ServedModel

QUERY_FIELD = "query"


@dataclass(frozen=True)
class CosineRerankWork:
    """Scheduler work (service.scheduler.Work) that scores documents against a query by cosine."""

    query: str
    documents: list[str]
    instruction: str | None
    truncate: bool
    fields: list[str]

    def prepare(self, model: Model) -> Prepared:
        documents = EmbedOptions(input_type="document", truncate=self.truncate)
        query = EmbedOptions(input_type="query", instruction=self.instruction, truncate=self.truncate)
        return Prepared(
            items=[model.prepare_embed(doc, documents, f) for doc, f in zip(self.documents, self.fields, strict=True)],
            extra=[model.prepare_embed(self.query, query, QUERY_FIELD)],
        )

    def finish(self, model: Model, prepared: Prepared, rows: list[Row]) -> list[float]:
        """One cosine per document; the query's row comes last."""
        unit = EmbedOptions()
        query = model.embedding(rows[-1], prepared.extra[0], unit).vector
        return [
            float(np.dot(query, model.embedding(row, item, unit).vector))
            for row, item in zip(rows[:-1], prepared.items, strict=True)
        ]


def scoring(description: GgufDescription) -> rerank_pb2.Scoring:
    """What the scores of the model that answered mean."""
    return rerank_pb2.SCORING_RERANKER if description.kind == "reranker" else rerank_pb2.SCORING_COSINE


def mark(proto: model_pb2.Model, served: ServedModel, registry: Registry) -> model_pb2.Model:
    """Sets `serves_rerank_by_cosine` on the embedding models that RerankService falls back to."""
    proto.serves_rerank_by_cosine = registry.reranks_by_cosine and served.kind == "embedding"
    return proto
