"""Rerank by BGE-M3's hybrid score: dense, lexical (sparse) and ColBERT scores, weighted.

As the paper (Chen et al. 2024, "BGE M3-Embedding", eq. 5) and its reference implementation
(FlagEmbedding's compute_score) define them, for a query q and a passage p:

    dense   = e_q . e_p                       (the normalised [CLS] vectors)
    lexical = sum over ids t in both of w_q(t) * w_p(t)   (the sparse weights)
    colbert = 1/N_q * sum over query rows i of max over passage rows j of E_q[i] . E_p[j]
    score   = (w1 * dense + w2 * lexical + w3 * colbert) / (w1 + w2 + w3)

with BGE-M3's weights 0.4, 0.2, 0.4 unless the request gives its own. All three come from one
decode of each sequence (service.engine.heads); an output whose weight is 0 is not computed. The
model has no instructions, so the query and the documents are encoded alike.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from service.app.cosine_rerank import CosineRerankWork
from service.app.late_interaction import maxsim
from service.core.errors import FieldViolation, InvalidArgumentError
from service.core.requests import RerankCall
from service.core.values import EmbedOptions, MultiOutput, SparseWeights
from service.scheduler import Prepared, Row
from router.types import GgufDescription

if TYPE_CHECKING:
    from service.engine import Model

DEFAULT_WEIGHTS = (0.4, 0.2, 0.4)
"""BGE-M3's own weights of the dense, sparse and ColBERT scores."""
_KINDS = ("dense", "sparse", "colbert")


def hybrid_weights(call: RerankCall, description: GgufDescription) -> tuple[float, float, float]:
    """The request's weights, checked: each at least 0, not all 0, and every weighted output one the
    model has. Weights with another scoring are refused rather than ignored."""
    if call.scoring != "hybrid":
        if call.hybrid_weights is not None:
            raise InvalidArgumentError.for_field("hybrid_weights", "hybrid weights need scoring hybrid")
        return DEFAULT_WEIGHTS
    weights = call.hybrid_weights or DEFAULT_WEIGHTS
    violations = [
        FieldViolation(f"hybrid_weights.{kind}", f"{w} is not a weight: it must be a finite number, at least 0")
        for kind, w in zip(_KINDS, weights, strict=True)
        if not (np.isfinite(w) and w >= 0.0)
    ]
    if not violations and sum(weights) <= 0.0:
        violations.append(FieldViolation("hybrid_weights", "the weights are all 0; give at least one a weight"))
    missing = [kind for kind, w in zip(_KINDS, weights, strict=True) if w > 0.0 and kind not in description.outputs]
    if missing:
        violations.append(
            FieldViolation(
                "model",
                f"{description.model_id} has no {' or '.join(missing)} head: hybrid scoring needs a model converted "
                "with BGE-M3's heads, or a weight of 0 for what it lacks",
            )
        )
    if violations:
        raise InvalidArgumentError("invalid hybrid scoring", violations)
    return weights


def lexical_score(query: SparseWeights, document: SparseWeights) -> float:
    """Sum over the token ids both have of the product of their weights."""
    mine = dict(zip(query.token_ids, query.weights.astype(np.float64).tolist()))
    pairs = zip(document.token_ids, document.weights.astype(np.float64).tolist(), strict=True)
    return float(sum(mine[t] * w for t, w in pairs if t in mine))


def hybrid_score(query: MultiOutput, document: MultiOutput, weights: tuple[float, float, float]) -> float:
    w_dense, w_sparse, w_colbert = weights
    total = 0.0
    if query.dense is not None and document.dense is not None:
        total += w_dense * float(np.dot(query.dense.vector.astype(np.float64), document.dense.vector))
    if query.sparse is not None and document.sparse is not None:
        total += w_sparse * lexical_score(query.sparse, document.sparse)
    if query.colbert is not None and document.colbert is not None:
        total += w_colbert * maxsim(query.colbert.vectors, document.colbert.vectors) / query.colbert.n_tokens
    return total / (w_dense + w_sparse + w_colbert)


@dataclass(frozen=True)
class HybridRerankWork(CosineRerankWork):
    """Scheduler work that scores documents against a query by the hybrid score: the cosine
    fallback's sequences, each decoded once with its token states kept."""

    weights: tuple[float, float, float] = DEFAULT_WEIGHTS

    def prepare(self, model: Model) -> Prepared:
        return replace(super().prepare(model), every=True)

    def finish(self, model: Model, prepared: Prepared, rows: list[Row]) -> list[float]:
        """One hybrid score per document; the query's states come last."""
        kinds = frozenset(kind for kind, w in zip(_KINDS, self.weights, strict=True) if w > 0.0)
        unit = EmbedOptions()
        query = model.outputs(rows[-1], prepared.extra[0], unit, kinds)
        return [
            hybrid_score(query, model.outputs(row, item, unit, kinds), self.weights)
            for row, item in zip(rows[:-1], prepared.items, strict=True)
        ]
