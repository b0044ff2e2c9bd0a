"""`python -m bench.layouts` measures every engine layout of the tuning record, twice, here beside a busy core."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import SynthModels

REPO = Path(__file__).resolve().parents[2]
LAYOUTS = [
    "step 32 tokens",
    "step 64 tokens",
    "step 128 tokens",
    "step 256 tokens",
    "step 512 tokens",
    "step 64, flash attention",
    "step 64, 1 thread",
    "step 64, 2 contexts x 1 thread",
]


def test_every_layout_is_measured(synth_models: SynthModels) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.layouts", str(synth_models.embedding["Q8_0"]), "--docs", "4", "--threads", "2", "--busy"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = re.findall(r"^\| (.+?) \| ([\d.]+) \| ([\d.]+) \|$", proc.stdout, re.MULTILINE)
    assert [name for name, _, _ in rows] == LAYOUTS
    assert all(float(a) > 0 and float(b) > 0 for _, a, b in rows)
    assert "4 documents of 128 tokens (+1 end token), one core busy;" in proc.stdout
