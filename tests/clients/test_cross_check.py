"""The cross-language check must catch a client whose vectors differ or are missing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.clients.cross_check import LANGUAGES, compare

VECTORS = {"queries": [[0.6, 0.8], [1.0, 0.0]], "documents": [[0.0, 1.0]]}


def _write(directory: Path, vectors: dict[str, dict[str, list[list[float]]]]) -> None:
    for lang, data in vectors.items():
        (directory / f"{lang}.json").write_text(json.dumps(data), encoding="utf-8")


def test_equal_vectors_pass(tmp_path: Path) -> None:
    _write(tmp_path, {lang: VECTORS for lang in LANGUAGES})
    assert compare(tmp_path) == []


def test_a_differing_client_is_named(tmp_path: Path) -> None:
    off = {"queries": [[0.6, 0.8], [1.0, 0.001]], "documents": [[0.0, 1.0]]}
    _write(tmp_path, {**{lang: VECTORS for lang in LANGUAGES}, "go": off})
    assert compare(tmp_path) == ["go queries: max difference 1.00e-03 > 1e-05"]


def test_a_missing_client_fails(tmp_path: Path) -> None:
    _write(tmp_path, {lang: VECTORS for lang in LANGUAGES if lang != "java"})
    assert compare(tmp_path) == ["no vectors from: java"]
