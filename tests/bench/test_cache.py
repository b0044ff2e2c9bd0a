"""`python -m bench.cache` measures the three cases of issue #29, cache on and off, and writes its section."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import SynthModels

REPO = Path(__file__).resolve().parents[2]


def test_every_case_is_measured_on_and_off(synth_models: SynthModels, tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\nthe full run\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "bench.cache", str(synth_models.embedding["Q8_0"]), "--docs", "40", "--batch", "8",
         "--doc-tokens", "32", "--rounds", "1", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    written = out.read_text(encoding="utf-8")
    assert written.startswith("# Benchmarks\n\nthe full run\n\n<!-- bench.cache: begin -->\n")
    assert written.endswith("<!-- bench.cache: end -->\n")
    rows = re.findall(r"^\| (.+?) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)x \|$", written, re.MULTILINE)
    assert [r[0] for r in rows] == ["37% duplicate documents", "the same corpus again (all cached)", "all misses"]
    again, duplicates = float(rows[1][1]), float(rows[0][1])
    assert again > duplicates  # every document of the second pass is a hit
    checked = re.findall(r"^\| (.+?) \| ([\d.]+)x \| (yes|\*\*no\*\*) \|$", written, re.MULTILINE)
    assert len(checked) == 3
