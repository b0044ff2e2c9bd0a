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

from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from service.api.embedroute.v1 import model_pb2, rerank_pb2
from service.engine.types import EmbedOptions, GgufDescription, PreparedInput

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

    def prepare(self, model: Model) -> list[PreparedInput]:
        options = EmbedOptions(input_type="document", truncate=self.truncate)
        return [model.prepare_embed(doc, options, f) for doc, f in zip(self.documents, self.fields, strict=True)]

    def batch_key(self) -> Hashable | None:
        # Jobs share an engine call only when they embed the same query the same way.
        return ("cosine", self.query, self.instruction, self.truncate)

    def run(self, model: Model, items: list[PreparedInput]) -> list[float]:
        """One cosine per document item; the scheduler may hand a job's items over in several calls."""
        options = EmbedOptions(input_type="query", instruction=self.instruction, truncate=self.truncate)
        query = model.embed_prepared([model.prepare_embed(self.query, options, QUERY_FIELD)], options)[0].vector
        documents = model.embed_prepared(items, EmbedOptions(input_type="document"))
        return [float(np.dot(query, d.vector)) for d in documents]


def scoring(description: GgufDescription) -> rerank_pb2.Scoring:
    """What the scores of the model that answered mean."""
    return rerank_pb2.SCORING_RERANKER if description.kind == "reranker" else rerank_pb2.SCORING_COSINE


def mark(proto: model_pb2.Model, served: ServedModel, registry: Registry) -> model_pb2.Model:
    """Sets `serves_rerank_by_cosine` on the embedding models that RerankService falls back to."""
    proto.serves_rerank_by_cosine = registry.reranks_by_cosine and served.kind == "embedding"
    return proto
