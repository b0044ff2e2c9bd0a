"""The layers hold by structure: the import contract passes on the tree and fails on a planted import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    for name in ("service", "router"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "10 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        ("service/core/planted.py", "import grpc\n", "The core and the engine know no transport"),
        ("service/engine/planted.py", "from service.app import Application\n", "Layers:"),
        ("service/rpc/planted.py", "from service.engine import load_model\n", "Fronts reach the engine only"),
        ("router/planted.py", "from service.engine import Model\n", "The router imports nothing of the service"),
        ("router/planted.py", "from service.core.values import Embedding\n", "The router imports nothing of the service"),
        ("service/engine/planted.py", "from router.policy import plan\n", "The core and the engine take only"),
        ("service/http/ollama/planted.py", "from service.http.openai import translate\n", "Each HTTP dialect"),
        ("service/http/ollama/planted.py", "from service.engine import load_model\n", "Fronts reach the engine only"),
        ("service/app/planted.py", "from service.telemetry.tracing import Tracer\n", "The core and the engine know"),
        ("service/prepare/planted.py", "from service.rpc import server\n", "Model preparation never imports"),
        ("service/app/cache/planted.py", "from service.engine import load_model\n", "The vector cache knows only"),
        ("service/batch/planted.py", "from service.scheduler import ModelWorker\n", "Batch jobs run through the"),
        ("service/batch/planted.py", "from service.http import HttpFront\n", "Layers:"),
    ],
)
def test_a_planted_import_breaks_its_contract(tree_copy: Path, module: str, planted: str, broken: str) -> None:
    (tree_copy / module).write_text(f'"""A deliberate violation."""\n\n{planted}')
    result = lint_imports(tree_copy)
    assert result.returncode == 1, result.stdout
    line = next(line for line in result.stdout.splitlines() if line.startswith(broken))
    assert " BROKEN" in line
    assert "planted" in result.stdout


def test_importing_the_router_loads_neither_grpc_nor_llama_cpp() -> None:
    check = "import router, sys; assert 'llama_cpp' not in sys.modules and 'grpc' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", check], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_importing_the_core_loads_neither_grpc_nor_llama_cpp() -> None:
    check = (
        "import service.core.config, router.metadata, service.core.requests, service.core.results, sys; "
        "assert 'llama_cpp' not in sys.modules and 'grpc' not in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", check], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_router_imports_without_the_service() -> None:
    """One graph without a loop: the router stands alone (the service imports it, never the reverse)."""
    check = "import sys; sys.modules['service'] = None; import router, router.explain, router.metadata"
    result = subprocess.run([sys.executable, "-c", check], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
