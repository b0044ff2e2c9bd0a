"""`python -m bench.prefix` measures every case of issue #18 with sharing on and off, and counts the tokens."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import SynthModels

REPO = Path(__file__).resolve().parents[2]
CASES = [
    "rerank, 6 documents of 40 tokens (docs/s, engine)",
    "rerank, 6 documents of 128 tokens (docs/s, engine)",
    "rerank, 6 documents of 40 tokens (docs/s, gRPC service)",
    "instructed 10-token queries, 1 per call (queries/s)",
    "instructed 10-token queries, 16 per call (queries/s)",
    "6 documents of 128 tokens, no instruction (docs/s)",
]


def test_every_case_is_measured_on_and_off(synth_models: SynthModels, tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\nthe full run\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "bench.prefix", str(synth_models.reranker_cls["Q8_0"]), str(synth_models.embedding["Q8_0"]),
         "--docs", "6", "--queries", "4", "--rounds", "1", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = re.findall(r"^\| (.+?) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)x \| ([\d,]+) / ([\d,]+|-) \| .*\|$|^\| (.+?) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)x \| - \| .*\|$", proc.stdout, re.MULTILINE)
    names = [r[0] or r[6] for r in rows]
    assert names == CASES, proc.stdout
    tokens = {r[0]: (int(r[4].replace(",", "")), int(r[5].replace(",", ""))) for r in rows if r[0]}
    for name in CASES[:2] + CASES[3:5]:
        on, off = tokens[name]
        assert 0 < on < off  # the shared prefix is decoded once
    on, off = tokens[CASES[5]]
    assert on == off == 6 * 129  # nothing to share: every token of every document
    written = out.read_text(encoding="utf-8")
    assert written.startswith("# Benchmarks\n\nthe full run\n\n<!-- bench.prefix: begin -->\n")
    assert written.endswith("<!-- bench.prefix: end -->\n")
    checked = re.findall(r"^\| (.+?) \| ([\d.]+)x \| (yes|\*\*no\*\*) \|$", written, re.MULTILINE)
    assert [name for name, _, _ in checked] == [
        "rerank docs/s, sharing on >= 2x off, 40-token documents (engine)",
        "instructed queries/s, 1 per call, on >= 2x off",
        "instructed queries/s, 16 per call, on >= 2x off",
        "documents without instruction, on / off within noise (0.95-1.05)",
    ]
