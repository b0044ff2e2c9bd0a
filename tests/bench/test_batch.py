"""`python -m bench.batch` times a batch job against the same inputs sent live, and a query's latency
idle and during a job, and writes one section per model."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import SynthModels

REPO = Path(__file__).resolve().parents[2]


def test_a_job_and_the_live_pass_are_timed_on_the_same_lines(synth_models: SynthModels, tmp_path: Path) -> None:
    out, raw = tmp_path / "BENCHMARKS.md", tmp_path / "batch.json"
    out.write_text("# Benchmarks\n\nthe full run\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "bench.batch", str(synth_models.embedding["Q8_0"]), "--lines", "60", "--queries", "5",
         "--doc-tokens", "16", "--out", str(out), "--json", str(raw)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    written = out.read_text(encoding="utf-8")
    name = "bench.batch.qwen3_embedding_tiny"
    assert written.startswith(f"# Benchmarks\n\nthe full run\n\n<!-- {name}: begin -->\n")
    assert written.endswith(f"<!-- {name}: end -->\n")
    passes = re.findall(r"^\| (live, 4 clients|batch job|batch job with the probe's queries) \| [\d.]+ \|", written, re.M)
    assert passes == ["live, 4 clients", "batch job", "batch job with the probe's queries"]
    results = json.loads(raw.read_text(encoding="utf-8"))
    assert results["lines"] == 60 and results["tokens"] > 60 and results["idle"]["n"] == results["idle_paced"]["n"] == 5
    assert results["during_batch"]["n"] >= 1
    checked = re.findall(r"^\| (.+?) \| ([\d.]+)x \| (yes|\*\*no\*\*) \|$", written, re.MULTILINE)
    assert [c[0] for c in checked] == [
        "batch tokens/s / live tokens/s >= 0.9x", "query p50 during a batch / idle p50 at the same pace <= 1.5x"
    ]
    paced_ratio = results["during_batch"]["p50_ms"] / results["idle_paced"]["p50_ms"]
    assert checked[1][1] == f"{paced_ratio:.2f}"
