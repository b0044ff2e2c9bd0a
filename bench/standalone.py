"""What every benchmark that owns one section of BENCHMARKS.md does around its measurement: stamp the
results with the command and the machine's load, print the section, write it and the raw results."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import sections
from bench.__main__ import load_average


def measured(module: str, argv: Sequence[str] | None, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`run`'s results with the command that made them and the load average before and after."""
    load_start = load_average()
    results = run()
    command = f"python -m {module} " + shlex.join(sys.argv[1:] if argv is None else argv)
    return results | {"command": command, "load_start": load_start, "load_end": load_average()}


def publish(name: str, text: str, results: dict[str, Any], out: Path | None, json_path: Path | None) -> None:
    """Prints `text`, writes it as section `name` of `out` and the raw results to `json_path` (each when given)."""
    print(text)
    if out is not None:
        sections.replace(out, name, sections.section(name, text))
    if json_path is not None:
        json_path.write_text(json.dumps(results, indent=1))


__all__ = ["measured", "publish"]
