"""BENCHMARKS.md is written by several benchmarks: `python -m bench` owns the file, and every other
benchmark owns one section of it between `<!-- bench.NAME: begin -->` and `<!-- bench.NAME: end -->`.

A benchmark rewrites only its own section; the full benchmark rewrites the rest and carries every
marked section over, so that no run throws away another benchmark's figures.
"""

from __future__ import annotations

import re
from pathlib import Path

_SECTION = re.compile(r"^<!-- (bench\.[\w.]+): begin -->\n.*?^<!-- \1: end -->\n", re.MULTILINE | re.DOTALL)


def markers(name: str) -> tuple[str, str]:
    """The begin and end lines of benchmark `name`'s section (`name` as in `python -m NAME`)."""
    return f"<!-- {name}: begin -->", f"<!-- {name}: end -->"


def section(name: str, body: str) -> str:
    """`body` wrapped in `name`'s markers, ready for `replace`."""
    begin, end = markers(name)
    return f"{begin}\n{body.strip()}\n\n{end}\n"


def marked(text: str) -> list[str]:
    """Every marked section of `text`, in order, markers included."""
    return [m.group(0) for m in _SECTION.finditer(text)]


def replace(path: Path, name: str, text: str) -> None:
    """Writes `text` (a `section`) in place of `name`'s section of `path`, or at its end when it has none."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    begin, end = markers(name)
    if begin in old and end in old:
        new = old[: old.index(begin)] + text + old[old.index(end) + len(end) + 1 :]
    else:
        new = old.rstrip() + "\n\n" + text if old.strip() else text
    path.write_text(new, encoding="utf-8")


def keep_marked(new: str, old_path: Path) -> str:
    """`new` with every marked section of the file at `old_path` appended, for the writer that owns the file."""
    if not old_path.exists():
        return new
    kept = marked(old_path.read_text(encoding="utf-8"))
    return "\n".join([new.rstrip() + "\n", *kept]) if kept else new


__all__ = ["keep_marked", "marked", "markers", "replace", "section"]
