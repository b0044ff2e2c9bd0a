"""Retrieval quality of each rung of a ladder, through the engine: recall@1 and nDCG@10.

Cosine to the F32 vectors says how far a quant drifts; this says whether the drift
matters, on a small English set kept in the repository (data/retrieval/). Every query
is ranked against every passage, so the passages of the same topic are the hard
negatives.

    python -m service.prepare.hf2gguf.evaluate MODEL.gguf [MODEL.gguf ...]
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from router.types import EngineSettings

from service.core.values import EmbedOptions
from service.engine import Model, load_model
from router.metadata import describe_gguf

DATA_DIR = Path(__file__).resolve().parents[3] / "data" / "retrieval"
BATCH = 16


@dataclass(frozen=True)
class RetrievalSet:
    passage_ids: list[str]
    passages: list[str]
    query_ids: list[str]
    queries: list[str]
    relevant: list[frozenset[str]]


@dataclass(frozen=True)
class RetrievalScores:
    path: Path
    quant: str
    bits_per_weight: float
    recall_at_1: float
    ndcg_at_10: float
    misses: tuple[str, ...]
    """Ids of the queries whose first hit is not relevant."""
    vectors: npt.NDArray[np.float32] = field(repr=False, compare=False)
    """Passages then queries, for comparing rungs with each other."""


def load_set(data_dir: Path = DATA_DIR) -> RetrievalSet:
    passages = [json.loads(line) for line in (data_dir / "passages.jsonl").read_text(encoding="utf-8").splitlines()]
    queries = [json.loads(line) for line in (data_dir / "queries.jsonl").read_text(encoding="utf-8").splitlines()]
    return RetrievalSet(
        passage_ids=[str(p["id"]) for p in passages],
        passages=[str(p["text"]) for p in passages],
        query_ids=[str(q["id"]) for q in queries],
        queries=[str(q["text"]) for q in queries],
        relevant=[frozenset(str(r) for r in q["relevant"]) for q in queries],
    )


def evaluate(path: Path, data: RetrievalSet, n_threads: int = 0) -> RetrievalScores:
    model = load_model(path, EngineSettings(n_threads=n_threads, n_seq_max=BATCH))
    try:
        docs = _embed(model, data.passages, EmbedOptions(input_type="document"))
        queries = _embed(model, data.queries, EmbedOptions(input_type="query"))
    finally:
        model.close()
    ranking = np.argsort(-(queries @ docs.T), axis=1, kind="stable")
    ranked_ids = [[data.passage_ids[i] for i in row[:10]] for row in ranking]
    description = describe_gguf(path)
    return RetrievalScores(
        path=path,
        quant=description.quant,
        bits_per_weight=description.bits_per_weight,
        recall_at_1=float(np.mean([ids[0] in rel for ids, rel in zip(ranked_ids, data.relevant)])),
        ndcg_at_10=float(np.mean([ndcg(ids, rel) for ids, rel in zip(ranked_ids, data.relevant)])),
        misses=tuple(q for q, ids, rel in zip(data.query_ids, ranked_ids, data.relevant) if ids[0] not in rel),
        vectors=np.concatenate([docs, queries]),
    )


def ndcg(ranked: Sequence[str], relevant: frozenset[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k: 1.0 when every relevant passage is ranked first."""
    gain = sum(1.0 / math.log2(rank + 2) for rank, pid in enumerate(ranked[:k]) if pid in relevant)
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(len(relevant), k)))
    return gain / ideal


def markdown_table(scores: Sequence[RetrievalScores]) -> str:
    """One row per rung, best first; cosines are to the first (highest-precision) rung's vectors."""
    ranked = sorted(scores, key=lambda s: s.bits_per_weight, reverse=True)
    base = ranked[0].vectors
    lines = [
        f"| quant | bits/weight | MiB | mean cos to {ranked[0].quant} | min cos | recall@1 | nDCG@10 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in ranked:
        cosines = np.sum(s.vectors * base, axis=1)
        lines.append(
            f"| {s.quant} | {s.bits_per_weight:.2f} | {s.path.stat().st_size / 2**20:.1f} | {cosines.mean():.5f} "
            f"| {cosines.min():.5f} | {s.recall_at_1:.3f} | {s.ndcg_at_10:.4f} |"
        )
    return "\n".join(lines)


def _embed(model: Model, texts: Sequence[str], options: EmbedOptions) -> npt.NDArray[np.float32]:
    rows: list[npt.NDArray[np.float32]] = []
    for start in range(0, len(texts), BATCH):
        rows.extend(e.vector for e in model.embed(texts[start : start + BATCH], options))
    return np.stack(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.prepare.hf2gguf.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path, metavar="MODEL.gguf")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    data = load_set()
    print(markdown_table([evaluate(path, data, args.threads) for path in args.models]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
