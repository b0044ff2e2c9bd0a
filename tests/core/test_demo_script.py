"""scripts/demo.sh notices a server that died and prints its one-line reason (issue 33, item 11: it
waited 300 s for a server that had exited at once, port in use, then printed only `make: *** Error 1`)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

from tests.conftest import SynthModels

REPO = Path(__file__).resolve().parents[2]


def test_demo_reports_a_server_that_exits_at_once(synth_models: SynthModels, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "embed.gguf").symlink_to(synth_models.embedding["Q8_0"])
    with socket.socket() as taken:  # the gRPC port is in use: the server refuses to start
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "EMBEDROUTE_PORT": str(port), "EMBEDROUTE_MODELS": str(models),
               "EMBEDROUTE_DEMO_STATE": str(tmp_path / "state")}
        started = time.monotonic()
        demo = subprocess.run(["bash", "scripts/demo.sh"], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        elapsed = time.monotonic() - started
    assert demo.returncode != 0
    assert elapsed < 60, elapsed
    assert (
        f"the server exited before it was ready: embedroute serve: port: cannot listen on 127.0.0.1:{port}: "
        "Address already in use"
    ) in demo.stderr, demo.stderr[-2000:]
