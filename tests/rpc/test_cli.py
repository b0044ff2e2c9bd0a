"""The one-shot CLI commands against a running server print the server's answers as JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from service.cli import main
from tests.rpc.conftest import EMBED_MODEL, RERANK_MODEL
from tests.rpc.harness import RunningServer


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


def test_embed(served: RunningServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "embed", "hello world", "--query", "--dimensions", "32", "--target", served.target)
    assert code == 0
    (embedding,) = out["embeddings"]
    assert out["model"] == EMBED_MODEL and embedding["dimensions"] == 32 and len(embedding["float_values"]) == 32


def test_rerank(served: RunningServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "rerank", "capital of China", "Beijing", "bread", "--top-n", "1", "--target", served.target
    )
    assert code == 0 and out["model"] == RERANK_MODEL
    assert len(out["results"]) == 1
    assert "document" not in out["results"][0]  # nothing the call did not ask for
    code, out, _ = run(capsys, "rerank", "capital of China", "Beijing", "bread", "--target", served.target)
    assert sorted(r["index"] for r in out["results"]) == [0, 1]  # the first document's index 0 is shown


def test_tokenize_and_models(served: RunningServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "tokenize", "What is the capital of China?", "--model", EMBED_MODEL, "--target", served.target
    )
    assert code == 0 and out["results"][0]["prompt_tokens"] == 8
    code, out, _ = run(capsys, "models", "--target", served.target)
    assert code == 0 and {m["id"] for m in out["models"]} == {EMBED_MODEL, RERANK_MODEL}
    code, out, _ = run(capsys, "models", RERANK_MODEL, "--target", served.target)
    assert code == 0 and out["model"]["kind"] == "MODEL_KIND_RERANKER"


def test_errors_print_code_reason_and_fields(served: RunningServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "embed", " ", "--target", served.target)
    assert code == 1
    assert err.splitlines() == ["INVALID_ARGUMENT: empty text", "  reason: INVALID_ARGUMENT", "  inputs[0]: empty text"]


def test_serve_rejects_bad_settings(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--log-format", "xml"])
    assert exited.value.code == 2
    monkeypatch.setenv("EMBEDROUTE_PORT", "fifty")
    assert main(["serve"]) == 2
    assert "EMBEDROUTE_PORT" in capsys.readouterr().err


def test_dispatches_route(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["route", "--help"])
    assert exited.value.code == 0
    assert "--hardware-profile" in capsys.readouterr().out
