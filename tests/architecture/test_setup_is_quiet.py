"""`make setup` says nothing but real trouble (issue #33 item 15): no deprecation warning from the
build backend about the project's own metadata, and no recipe comment echoed by make."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_editable_install_builds_without_a_warning() -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "-q", "-e", str(REPO)],
        capture_output=True, text=True, timeout=300, check=True,
    )
    said = built.stdout + built.stderr
    assert "Warning" not in said, said


def test_make_echoes_no_recipe_comment() -> None:
    shown = subprocess.run(
        ["make", "-n", "-B", "setup"], cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    assert shown.strip()
    assert not [line for line in shown.splitlines() if line.lstrip().startswith("#")], shown
