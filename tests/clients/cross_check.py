"""The four clients must return the same vectors for the same input.

Each client's own suite writes the model card example's query and document vectors to
VECTORS_DIR/<language>.json; this compares every file with the Python client's to float
tolerance (JSON round trips float32 exactly in all four; the tolerance covers only the
server's batch composition). A missing file is a failure: a suite that silently skipped
its writing test must not pass the check.

    python tests/clients/cross_check.py VECTORS_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

LANGUAGES = ("python", "go", "typescript", "java")
TOLERANCE = 1e-5


def load(path: Path) -> dict[str, np.ndarray]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {key: np.asarray(data[key], dtype=np.float64) for key in ("queries", "documents")}


def compare(vectors_dir: Path) -> list[str]:
    missing = [lang for lang in LANGUAGES if not (vectors_dir / f"{lang}.json").is_file()]
    if missing:
        return [f"no vectors from: {', '.join(missing)}"]
    golden = load(vectors_dir / "python.json")
    problems = []
    for lang in LANGUAGES[1:]:
        other = load(vectors_dir / f"{lang}.json")
        for key, want in golden.items():
            got = other[key]
            if got.shape != want.shape:
                problems.append(f"{lang} {key}: shape {got.shape}, python {want.shape}")
            elif not np.allclose(got, want, atol=TOLERANCE, rtol=0):
                problems.append(f"{lang} {key}: max difference {np.abs(got - want).max():.2e} > {TOLERANCE}")
    return problems


def main(argv: list[str]) -> int:
    problems = compare(Path(argv[1]))
    for problem in problems:
        print(f"cross-check: {problem}", file=sys.stderr)
    if not problems:
        print(f"cross-check: {', '.join(LANGUAGES)} return the same vectors (atol {TOLERANCE})")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
