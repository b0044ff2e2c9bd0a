"""The README's first command, `make demo`, in a clean copy of the tree: no models, package cache allowed.

The copy holds what `git clone` would give plus the uncommitted work (tracked and
untracked, not ignored), with no models folder; `.venv` is a link to this checkout's,
and make is told not to redo setup (`-o`), so the test never reinstalls into it. The
hub is switched off (HF_HUB_OFFLINE): the default model must come from the package.
The demo leaves its server running by design; the test stops it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^  (.{32}) ([+-]\d\.\d{4})  ([+-]\d\.\d{4})$")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _copy_tree(dest: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if name.startswith("models/") or not source.is_file():
            continue  # models: the point of the test; deleted-but-tracked files: not in a clone either
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest / name)
    (dest / ".venv").symlink_to(REPO / ".venv")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[subprocess.CompletedProcess[str], Path]]:
    root = tmp_path / "embedroute"
    _copy_tree(root)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMBEDROUTE_", "HF_"))}
    # Free ports for both fronts: the README's own demo server may be running on 50051 and 8080 (issue #33 item 10).
    env.update(
        EMBEDROUTE_PORT=str(_free_port()), EMBEDROUTE_HTTP_PORT=str(_free_port()), HF_HUB_OFFLINE="1",
        HF_HOME=str(tmp_path / "hf"),
    )
    pid_file = root / ".cache" / "server.pid"
    try:
        done = subprocess.run(
            ["make", "-o", ".venv/.installed", "demo"], cwd=root, env=env, capture_output=True, text=True, timeout=600
        )
        yield done, root
    finally:
        if pid_file.exists():
            _stop(int(pid_file.read_text()))


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


def test_make_demo_prints_a_diagonal_similarity_matrix(demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    done, root = demo
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    start = lines.index("similarity (queries x documents):")
    rows = [ROW.match(line) for line in lines[start + 1 : start + 3]]
    assert all(rows), lines[start : start + 3]
    matrix = [[float(m.group(2)), float(m.group(3))] for m in rows if m]
    assert [m.group(1).strip() for m in rows if m] == ["What is the capital of China?", "Explain gravity"]
    for i in range(2):
        assert matrix[i][i] > matrix[i][1 - i], matrix  # each query's own document first
        assert matrix[i][i] > matrix[1 - i][i], matrix  # each document's own query first
    ladder = sorted(f"all-MiniLM-L6-v2-{q}.gguf" for q in ("F32", "F16", "Q8_0", "Q4_K_M"))
    files = sorted(p.name for p in (root / "models").iterdir())
    # beside the file it serves, the server records the sha256 of its vector-space id
    assert [f for f in files if f.endswith(".gguf")] == ladder
    assert len([f for f in files if f.endswith(".gguf.sha256")]) == 1 and len(files) == len(ladder) + 1
    pid = int((root / ".cache" / "server.pid").read_text())
    os.kill(pid, 0)  # the demo leaves its server running (the fixture stops it)
