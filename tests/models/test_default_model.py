"""prepare_default_model: the bundled checkpoint becomes a ladder, once."""

from __future__ import annotations

from pathlib import Path

from router.metadata import describe_gguf
from service.prepare.hf2gguf.default_model import DEFAULT_LADDER, prepare_default_model
from tests.models.conftest import CACHE, QUANTS


def test_ladder_names_and_types(minilm: dict[str, Path]) -> None:
    assert [p.name for p in minilm.values()] == [f"all-MiniLM-L6-v2-{q}.gguf" for q in QUANTS]
    assert [describe_gguf(p).quant for p in minilm.values()] == list(QUANTS)
    assert {describe_gguf(p).model_id for p in minilm.values()} == {"all-minilm-l6-v2"}


def test_second_run_rewrites_nothing(minilm: dict[str, Path]) -> None:
    stamps = {p: p.stat().st_mtime_ns for p in minilm.values()}
    assert prepare_default_model(CACHE, QUANTS) == list(minilm.values())
    assert {p: p.stat().st_mtime_ns for p in minilm.values()} == stamps


def test_without_f32_rung_the_base_is_not_left_behind(tmp_path: Path) -> None:
    paths = prepare_default_model(tmp_path, ("F16",))
    assert [p.name for p in paths] == ["all-MiniLM-L6-v2-F16.gguf"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all-MiniLM-L6-v2-F16.gguf"]
    assert DEFAULT_LADDER == QUANTS
