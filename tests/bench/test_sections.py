"""BENCHMARKS.md keeps every benchmark's figures: each one rewrites its own marked section, and the full
benchmark carries the others' sections over when it rewrites the file."""

from __future__ import annotations

from pathlib import Path

from bench import report, sections

FULL_RUN = "# Benchmarks\n\nold full run\n"


def test_a_benchmark_rewrites_only_its_own_section(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text(FULL_RUN, encoding="utf-8")
    sections.replace(out, "bench.http_front", sections.section("bench.http_front", "## HTTP\n\nfirst"))
    sections.replace(out, "bench.prefix", sections.section("bench.prefix", "## Prefix\n\nfirst"))
    sections.replace(out, "bench.http_front", sections.section("bench.http_front", "## HTTP\n\nsecond"))
    assert out.read_text(encoding="utf-8") == (
        "# Benchmarks\n\nold full run\n\n"
        "<!-- bench.http_front: begin -->\n## HTTP\n\nsecond\n\n<!-- bench.http_front: end -->\n"
        "\n<!-- bench.prefix: begin -->\n## Prefix\n\nfirst\n\n<!-- bench.prefix: end -->\n"
    )


def test_the_full_benchmark_keeps_the_other_sections(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    http = sections.section("bench.http_front", "## HTTP\n\n| a | 1 |")
    prefix = sections.section("bench.prefix", "## Prefix\n\n| b | 2 |")
    out.write_text(FULL_RUN + "\n" + http + "\nhand-written text between\n\n" + prefix, encoding="utf-8")
    written = sections.keep_marked("# Benchmarks\n\nnew full run\n", out)
    out.write_text(written, encoding="utf-8")
    assert written == "# Benchmarks\n\nnew full run\n\n" + http + "\n" + prefix
    assert sections.marked(out.read_text(encoding="utf-8")) == [http, prefix]


def test_report_write_goes_through_keep_marked(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    kept = sections.section("bench.prefix", "## Prefix\n\nkept")
    out.write_text(FULL_RUN + "\n" + kept, encoding="utf-8")
    results = {
        "machine": {"cpu": "cpu", "physical_cores": 2, "logical_cpus": 2, "flags": "avx2", "ram_gib": 1.0, "gpu": "none",
                    "python": "3.11", "llama_cpp": "0.3.36", "grpc": "1.0"},
        "command": "python -m bench", "load_start": "0", "load_end": "0", "n_docs": 1, "doc_tokens": 128,
        "probe_docs": 1, "query_tokens": 10, "clients": [1], "gpu": False, "models": [],
    }
    report.write(results, out, None)
    text = out.read_text(encoding="utf-8")
    assert "old full run" not in text and text.startswith("# Benchmarks")
    assert sections.marked(text) == [kept]
