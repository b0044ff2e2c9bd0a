"""`embedroute ladder`: writes the missing rungs, keeps the others, ranks by real bits per weight."""

from __future__ import annotations

import re
from pathlib import Path

import gguf
import pytest

from router.metadata import describe_gguf
from service.core.space import file_sha256, recorded_sha256
from service.prepare.ladder import main
from tests.models.hybrid import write_hybrid


def _table(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines()[1:]]


def test_writes_ranks_and_then_keeps(minilm: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(minilm["F16"]), "--quants", "q4_k_m,Q8_0", "--out", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    rows = _table(out)
    assert [(r[0], r[3], r[4]) for r in rows] == [("1", "F16", "source"), ("2", "Q8_0", "new"), ("3", "Q4_K_M", "new")]
    assert [float(r[1]) for r in rows] == [round(describe_gguf(Path(r[-1])).bits_per_weight, 2) for r in rows]
    assert "[1/2] Q4_K_M: writing all-MiniLM-L6-v2-Q4_K_M.gguf" in err
    names = ["all-MiniLM-L6-v2-Q4_K_M.gguf", "all-MiniLM-L6-v2-Q8_0.gguf"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names + [n + ".sha256" for n in names])
    assert all(recorded_sha256(tmp_path / n) == file_sha256(tmp_path / n) for n in names)
    stamp = (tmp_path / "all-MiniLM-L6-v2-Q8_0.gguf").stat().st_mtime_ns

    assert main([str(minilm["F16"]), "--quants", "Q8_0", "--out", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert [r[4] for r in _table(out)] == ["source", "kept"]
    assert "exists, kept" in err
    assert (tmp_path / "all-MiniLM-L6-v2-Q8_0.gguf").stat().st_mtime_ns == stamp


def test_hybrid_source_is_described_by_its_tensors(
    minilm: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hybrid = write_hybrid(minilm["F32"], tmp_path / "hybrid.gguf")
    assert main([str(hybrid), "--quants", "Q8_0,Q4_K_M", "--out", str(tmp_path / "out")]) == 1
    out, err = capsys.readouterr()
    rows = _table(out)
    # Labelled BF16, but 36 of its matrices are Q8_0: 12.63 bits per weight, not 16.
    assert rows[0][1:6] == ["12.63", "34.6", "BF16", "source", "F32:64"]
    assert rows[0][6:8] == ["Q8_0:36", "BF16:1"]
    assert rows[1][3:5] == ["Q8_0", "new"]
    assert re.search(r"skipped Q4_K_M: the source's Q8_0 tensors would be requantised", err)
    assert not (tmp_path / "out" / "all-MiniLM-L6-v2-Q4_K_M.gguf").exists()
    written = gguf.GGUFReader(str(tmp_path / "out" / "all-MiniLM-L6-v2-Q8_0.gguf"))
    assert {t.tensor_type.name for t in written.tensors if t.name.startswith("blk.") and len(t.shape) == 2} == {"Q8_0"}


def test_rejects_unknown_quant_and_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "x.gguf"), "--quants", "Q3_K_XL"])
    assert exit_info.value.code == 2
    assert "unknown quant(s) Q3_K_XL" in capsys.readouterr().err
    (tmp_path / "junk.gguf").write_bytes(b"not a gguf at all")
    assert main([str(tmp_path / "junk.gguf")]) == 2
    assert "not a readable GGUF" in capsys.readouterr().err
