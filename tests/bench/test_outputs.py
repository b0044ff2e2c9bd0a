"""`python -m bench.outputs` measures dense, token vectors, sparse and hybrid rerank on one BGE-M3-shaped
file over the same corpus, and writes one section per model with each row's ratio to dense."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from bench.outputs import MODES, SAME_TEXTS, tiny_model
from router.metadata import describe_gguf
from tests.conftest import M3Models

REPO = Path(__file__).resolve().parents[2]


def test_every_output_is_measured_on_the_same_corpus(m3_models: M3Models, tmp_path: Path) -> None:
    out, raw = tmp_path / "BENCHMARKS.md", tmp_path / "outputs.json"
    out.write_text("# Benchmarks\n\nthe full run\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "bench.outputs", str(m3_models.gguf["F32"]), "--docs", "16", "--batch", "8",
         "--doc-tokens", "12", "--queries", "3", "--rerank-docs", "2", "--rounds", "1", "--out", str(out),
         "--json", str(raw)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    written = out.read_text(encoding="utf-8")
    name = "bench.outputs.tiny_bge_m3"
    assert written.startswith(f"# Benchmarks\n\nthe full run\n\n<!-- {name}: begin -->\n")
    assert written.endswith(f"<!-- {name}: end -->\n")
    rows = re.findall(r"^\| (.+?) \| ([\d,]+) \| ([\d.]+)x \| ([\d.]+) \| ([\d.]+)x \|$", written, re.MULTILINE)
    assert [r[0] for r in rows] == list(MODES)
    assert (rows[0][2], rows[0][4]) == ("1.00", "1.00")
    results = json.loads(raw.read_text(encoding="utf-8"))
    tokens = results["tokens"]
    # The same documents, the same prompt tokens (hybrid rerank's usage counts the documents', not the query's).
    assert tokens["dense"] == tokens["token vectors"] == tokens["sparse"] == tokens["hybrid rerank"] > 16
    assert all(results["latency"][mode]["n"] == 3 for mode in (*MODES, SAME_TEXTS))
    hybrid_ratio = results["latency"]["hybrid rerank"]["p50_ms"] / results["latency"][SAME_TEXTS]["p50_ms"]
    assert rows[3][4] == f"{hybrid_ratio:.2f}"


def test_the_default_model_is_the_tests_tiny_bge_m3(tmp_path: Path) -> None:
    path = tiny_model(tmp_path / "m3" / "tiny-bge-m3-F32.gguf")
    d = describe_gguf(path)
    assert (d.model_id, d.outputs) == ("tiny-bge-m3", ("dense", "sparse", "colbert"))
    assert tiny_model(path) == path  # kept: made once
