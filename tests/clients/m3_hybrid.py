"""The clients' hybrid-scoring fixture: a tiny BGE-M3 to serve, and the scores it must give.

scripts/check-clients.sh serves MODELS_DIR (the tiny BGE-M3-shaped model of the Python tests, F32,
with its sparse and ColBERT heads) on a second server, and each client's suite reranks EXPECTED's
query and documents with SCORING_HYBRID and EXPECTED's weights; the scores must equal EXPECTED's,
which the numpy reference of the Python tests (tests/models/m3_numpy.py) computes here, within 1e-4.

    python -m tests.clients.m3_hybrid MODELS_DIR EXPECTED_JSON
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from service.prepare.hf2gguf.xlmr import convert_xlm_roberta
from tests.models.m3_checkpoint import make_m3_checkpoint
from tests.models.m3_numpy import M3Reference

MODEL_ID = "tiny-bge-m3"
QUERY = "What is the capital of France?"
DOCUMENTS = [
    "Paris is the capital of France, a city on a river.",
    "Gravity is a force that attracts two bodies towards each other.",
    "the capital city of China",
]
WEIGHTS = {"dense": 0.2, "sparse": 0.5, "colbert": 0.3}
"""Not BGE-M3's defaults (0.4, 0.2, 0.4): a client that dropped the weights would fail."""


def write(models_dir: Path, expected: Path) -> None:
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        checkpoint = make_m3_checkpoint(Path(work) / MODEL_ID)
        convert_xlm_roberta(checkpoint, models_dir / f"{MODEL_ID}-F32.gguf", "F32")
        reference = M3Reference(checkpoint)
        weights = (WEIGHTS["dense"], WEIGHTS["sparse"], WEIGHTS["colbert"])
        scores = [reference.hybrid_score(QUERY, document, weights) for document in DOCUMENTS]
    expected.write_text(
        json.dumps({"model": MODEL_ID, "query": QUERY, "documents": DOCUMENTS, "weights": WEIGHTS, "scores": scores}),
        encoding="utf-8",
    )


if __name__ == "__main__":
    write(Path(sys.argv[1]), Path(sys.argv[2]))
