"""`embedroute batch`: submit --wait prints every line's result, status, cancel and results print
the server's own objects and lines."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from service.batch_client import main
from tests.http.batch_support import KEY_A, KEY_B, batch_served, embed_line, jsonl
from tests.rpc.harness import RunningServer

__all__ = ["batch_served"]  # the module's server fixture


def _run(capsys: pytest.CaptureFixture[str], server: RunningServer, *args: str, key: str = KEY_A) -> tuple[int, str, str]:
    code = main(["--url", server.http_url, "--api-key", key, *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_submit_wait_then_status_and_results(
    batch_served: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_bytes(jsonl([embed_line(f"c{i}", f"text {i}") for i in range(6)] + [embed_line("bad", "x", dimensions=0)]))
    code, out, err = _run(capsys, batch_served, "submit", str(corpus), "--wait")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert sorted(line["custom_id"] for line in lines) == [f"c{i}" for i in range(6)]
    ended = re.search(r"(batch_[0-9a-f]+) completed: 6 completed, 1 failed", err)
    assert ended is not None
    batch_id = ended.group(1)

    code, out, _ = _run(capsys, batch_served, "status", batch_id)
    status = json.loads(out)
    assert (code, status["status"], status["request_counts"]) == (0, "completed", {"total": 7, "completed": 6, "failed": 1})
    code, out, _ = _run(capsys, batch_served, "results", batch_id, "--errors")
    assert [json.loads(line)["custom_id"] for line in out.splitlines()] == ["bad"]

    code, _, err = _run(capsys, batch_served, "status", batch_id, key=KEY_B)
    assert code == 1 and "404" in err


def test_submit_then_cancel(batch_served: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "long.jsonl"
    corpus.write_bytes(jsonl([embed_line(f"l{i}", " ".join(["long"] * 300)) for i in range(100)]))
    code, out, _ = _run(capsys, batch_served, "submit", str(corpus))
    batch_id = json.loads(out)["id"]
    code, out, _ = _run(capsys, batch_served, "cancel", batch_id)
    assert code == 0 and json.loads(out)["status"] == "cancelling"
