"""The contract: Buf STANDARD lint passes and the checked-in Python code is what the protos generate."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_check_protos_passes() -> None:
    result = subprocess.run(["bash", "scripts/check-protos.sh"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "buf lint: ok" in result.stdout and "generated code: up to date" in result.stdout


def test_stale_code_fails_the_check(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    for part in ("protos", "scripts", "service/rpc/generated", "buf.yaml"):
        source, target = REPO / part, copy / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target)
    (copy / ".venv").symlink_to(REPO / ".venv")
    embed = copy / "protos/embedroute/v1/embed.proto"
    embed.write_text(embed.read_text().replace("bool truncated = 7;", "bool truncated = 7;\n  uint32 extra = 99;"))
    result = subprocess.run(["bash", "scripts/check-protos.sh"], cwd=copy, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "service/rpc/generated is stale" in result.stderr


def test_generated_imports_are_relative() -> None:
    generated = (REPO / "service/rpc/generated/embedroute/v1").glob("*.py*")
    assert not [p.name for p in generated if "from embedroute.v1 import" in p.read_text()]
