"""`embedroute drift`: two servers, one serving F16 and one Q8_0 of the same model."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.cli import main as cli_main
from service.drift import PROBES, main
from tests.conftest import SynthModels
from tests.rpc.harness import RunningServer, server_settings


def _server(source: Path, folder: Path) -> RunningServer:
    folder.mkdir()
    (folder / source.name).symlink_to(source)
    return RunningServer(server_settings(folder)).load()


@pytest.fixture(scope="module")
def pair(synth_models: SynthModels, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    root = tmp_path_factory.mktemp("drift")
    f16 = _server(synth_models.embedding["F16"], root / "f16")
    q8 = _server(synth_models.embedding["Q8_0"], root / "q8")
    same = _server(synth_models.embedding["F16"], root / "f16-again")
    yield f16.target, q8.target, same.target
    for server in (f16, q8, same):
        server.stop()


def drift(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out), out.getvalue()


def cosines(text: str) -> list[float]:
    return [float(m) for m in re.findall(r"^([01]\.\d{6})  (?:document|query): ", text, re.M)]


def test_prints_ids_and_a_cosine_per_text(pair: tuple[str, str, str]) -> None:
    f16, q8, _ = pair
    code, text = drift(f16, q8, "--threshold", "0.9")
    lines = text.splitlines()
    assert re.match(rf"^A  {re.escape(f16)}  qwen3-embedding-tiny F16  256 dims  vector space vs1-[0-9a-f]{{16}}$", lines[0])
    assert re.match(rf"^B  {re.escape(q8)}  qwen3-embedding-tiny Q8_0  256 dims  vector space vs1-[0-9a-f]{{16}}$", lines[1])
    assert lines[0].rsplit(" ", 1)[1] != lines[1].rsplit(" ", 1)[1]
    values = cosines(text)
    assert len(values) == 2 * len(PROBES)
    assert 0.99 < min(values) < 0.99999
    assert f"min {min(values):.6f}  mean " in text
    assert code == 0 and lines[-1] == "verdict: different ids, but every cosine is at least 0.9: close enough to mix"


def test_exits_1_only_when_the_threshold_is_crossed(pair: tuple[str, str, str]) -> None:
    f16, q8, _ = pair
    _, text = drift(f16, q8, "--threshold", "0.9")
    low = min(cosines(text))
    below, above = round(low + 0.000002, 6), round(low - 0.000002, 6)
    code, text = drift(f16, q8, "--threshold", str(below))
    assert code == 1 and text.splitlines()[-1].startswith("verdict: DIFFERENT spaces: ")
    assert drift(f16, q8, "--threshold", str(above))[0] == 0


def test_the_same_file_is_the_same_space(pair: tuple[str, str, str]) -> None:
    f16, _, same = pair
    code, text = drift(f16, same, "--threshold", "0.999999")
    assert min(cosines(text)) == 1.0
    assert (code, text.splitlines()[-1]) == (0, "verdict: same vector space (equal ids)")


def test_user_texts_and_the_cli_entry_point(pair: tuple[str, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f16, q8, _ = pair
    texts = tmp_path / "texts.txt"
    texts.write_text("first line of mine\n\nsecond line of mine\n", encoding="utf-8")
    code = cli_main(["drift", f16, q8, "--texts", str(texts), "--no-probes", "--threshold", "0.5"])
    out = capsys.readouterr().out
    assert code == 0
    assert len(cosines(out)) == 4 and "document: second line of mine" in out and "query: first line of mine" in out


def test_an_unreachable_server_is_exit_2(pair: tuple[str, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    f16, _, _ = pair
    assert main([f16, "127.0.0.1:1", "--timeout", "2"]) == 2
    assert capsys.readouterr().err.startswith("embedroute drift: 127.0.0.1:1: UNAVAILABLE: ")
