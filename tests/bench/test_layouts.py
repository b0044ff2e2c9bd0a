"""`python -m bench.layouts` measures every engine layout of the tuning record twice, here beside a busy
core, with an idle query's p50 beside each, and writes its section of BENCHMARKS.md; `python -m
bench.kv_streams` measures unified against per-sequence KV on the raw llama.cpp API."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import SynthModels

REPO = Path(__file__).resolve().parents[2]
LAYOUTS = [
    "step 64 tokens",
    "step 64 tokens, flash attention",
    "step 128 tokens",
    "step 128 tokens, flash attention",
    "step 256 tokens",
    "step 256 tokens, flash attention",
    "step 512 tokens, flash attention",
    "step 128, flash attention, 1 thread",
    "step 128, flash attention, 2 contexts x 1 thread",
]
KV_LAYOUTS = [
    "unified, 1 document a decode",
    "unified, 2 documents a decode",
    "unified, 4 documents a decode",
    "unified, 8 documents a decode",
    "streams, 2 documents a decode",
    "streams, 4 documents a decode",
    "streams, 8 documents a decode",
    "unified, 1 document a decode, flash attention",
    "unified, 4 documents a decode, flash attention",
    "streams, 4 documents a decode, flash attention",
]
NUMBER = r"([\d.]+)"


def test_every_layout_is_measured(synth_models: SynthModels, tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\nkept\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "bench.layouts", str(synth_models.embedding["Q8_0"]), "--docs", "4", "--threads", "2",
         "--queries", "3", "--busy", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = re.findall(rf"^\| (.+?) \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} \|$", proc.stdout, re.MULTILINE)
    assert [row[0] for row in rows] == LAYOUTS
    assert all(float(value) > 0 for row in rows for value in row[1:])
    assert "4 documents of 128 tokens (+1 end token), 2 threads, one core busy;" in proc.stdout
    written = out.read_text(encoding="utf-8")
    assert written.startswith("# Benchmarks\n\nkept\n")
    assert "<!-- bench.layouts: begin -->\n## Engine layouts on this CPU (`python -m bench.layouts`)" in written
    assert all(f"| {name} |" in written for name in LAYOUTS)
    assert "docs/engine-tuning.md, sections 2 and 11.\n\n<!-- bench.layouts: end -->" in written


def test_unified_and_per_sequence_kv_are_measured(synth_models: SynthModels) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.kv_streams", str(synth_models.embedding["Q8_0"]), "--docs", "8", "--tokens", "40", "--threads", "2"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = re.findall(rf"^\| (.+?) \| {NUMBER} \| {NUMBER} \|$", proc.stdout, re.MULTILINE)
    assert [row[0] for row in rows] == KV_LAYOUTS
    assert all(float(a) > 0 and float(b) > 0 for _, a, b in rows)
    assert "8 documents of 40 tokens, 2 threads;" in proc.stdout
