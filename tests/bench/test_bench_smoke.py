"""`python -m bench --quick` runs end to end and reports every section with numbers.

No timing assertions: the machine is shared and the figures vary; what must not break
is that every measurement ran and reached the report.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SECTIONS = (
    "## Method",
    "## Run",
    "#### Raw engine settings",
    "#### Throughput (all documents)",
    "#### Single 10-token query latency",
    "#### Rerank of 20 documents",
    "#### Memory",
    "#### Targets",
)


Run = tuple[str, dict[str, Any]]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("bench")
    markdown, results = out / "BENCHMARKS.md", out / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--models", str(REPO / ".cache" / "bench-models"),
         "--out", str(markdown), "--json", str(results)],
        cwd=REPO, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return markdown.read_text(), json.loads(results.read_text())


def test_every_section_is_in_the_report(quick_run: Run) -> None:
    markdown, _ = quick_run
    missing = [s for s in SECTIONS if s not in markdown]
    assert missing == []
    assert "PyTorch" in markdown


def test_every_measurement_is_a_positive_number(quick_run: Run) -> None:
    _, results = quick_run
    (model,) = results["models"]
    engine, service = model["engine"], model["service"]
    assert [(r["n_batch"], r["n_docs"]) for r in engine["grid"]][:3] == [(32, 8), (64, 8), (128, 8)]
    assert [(engine[run]["n_docs"], engine[run]["n_tokens"]) for run in ("full", "full_after")] == [(40, 40 * 129)] * 2
    assert [load["clients"] for load in service["loads"]] == [1, 4]
    assert [load["n_tokens"] for load in service["loads"]] == [40 * 129, 40 * 129]
    assert [load["probed"]["n_tokens"] for load in service["loads"]] == [20 * 129, 20 * 129]
    assert all("query_under_load" not in load for load in service["loads"])
    figures = [
        engine["full"]["tok_per_s"],
        engine["full_after"]["tok_per_s"],
        engine["idle_query"]["p50_ms"],
        service["idle_query"]["p50_ms"],
        service["idle_query"]["p99_ms"],
        *(load["tok_per_s"] for load in service["loads"]),
        *(load["probed"]["tok_per_s"] for load in service["loads"]),
        *(load["probed"]["query_under_load"]["p50_ms"] for load in service["loads"]),
        service["idle_query"]["overhead"]["p50_ms"],
        model["rerank"]["engine"]["p50_ms"],
        model["rerank"]["service"]["p50_ms"],
        service["peak_rss_bytes"],
        service["rss_budget_bytes"],
    ]
    assert all(math.isfinite(x) and x > 0 for x in figures), figures
    assert model["rerank"]["n_docs"] == 20
    assert service["idle_query"]["n"] == service["idle_query"]["overhead"]["n"] == 20
    idle = service["idle_query"]
    assert 0 < idle["transport"]["p50_ms"] < idle["overhead"]["p50_ms"] < idle["p50_ms"]


def test_targets_are_checked_and_printed(quick_run: Run) -> None:
    markdown, results = quick_run
    targets = [c["target"] for c in results["models"][0]["targets"]]
    assert targets == [
        "throughput at 4 clients >= 0.95x raw engine",
        "query p50 under 1-client load <= 3x idle",
        "query p50 under 4-client load <= 3x idle",
        "idle query p50 overhead over the engine <= 2 ms",
        "server peak RSS <= files + KV/compute/output buffers + 300 MiB",
    ]
    rows = re.findall(r"^\| (throughput|query p50|idle query|server peak RSS).*\| (yes|\*\*no\*\*) \|$", markdown, re.M)
    assert len(rows) == 5


def test_the_service_is_compared_with_the_raw_runs_on_either_side(quick_run: Run) -> None:
    _, results = quick_run
    (model,) = results["models"]
    engine = model["engine"]
    mean = (engine["full"]["tok_per_s"] + engine["full_after"]["tok_per_s"]) / 2
    load = next(load for load in model["service"]["loads"] if load["clients"] == 4)
    (check,) = [c for c in model["targets"] if c["target"].startswith("throughput at 4 clients")]
    assert check["value"] == f"{load['tok_per_s'] / mean:.2f}x"
