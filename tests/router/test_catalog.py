"""The catalog over real GGUF files, and plan_models on this machine's real probe."""

from __future__ import annotations

import shutil
from pathlib import Path

from router import RouterPrefs, build_catalog, plan_models, probe_hardware
from tests.conftest import SynthModels

PREFS = RouterPrefs(n_ctx=512)


def link(folder: Path, sources: dict[str, Path], skip: tuple[str, ...] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for quant, source in sources.items():
        if quant not in skip:
            (folder / source.name).symlink_to(source)
    return folder


def truncate(source: Path, target: Path, keep: int) -> Path:
    with source.open("rb") as src, target.open("wb") as dst:
        dst.write(src.read(keep))
    return target


def test_variants_are_grouped_by_metadata_not_file_name(synth_models: SynthModels, tmp_path: Path) -> None:
    folder = link(tmp_path / "models", synth_models.embedding)
    # a misleading name: the file says what it is
    shutil.copy(synth_models.reranker_cls["Q8_0"], folder / "Qwen3-Embedding-Tiny-BF16-copy.gguf")
    (folder / "nested").mkdir()
    (folder / "nested" / "reranker.gguf").symlink_to(synth_models.reranker_cls["F16"])
    catalog = build_catalog([folder])
    assert [(g.model_id, g.kind, len(g.variants)) for g in catalog.models] == [
        ("qwen3-embedding-tiny", "embedding", 7),
        ("qwen3-reranker-tiny", "reranker", 2),
    ]
    assert sorted(v.quant for v in catalog.models[0].variants) == sorted(synth_models.embedding)
    assert sorted(v.quant for v in catalog.models[1].variants) == ["F16", "Q8_0"]
    assert catalog.unreadable == ()


def test_unreadable_files_are_skipped_and_reported(synth_models: SynthModels, tmp_path: Path) -> None:
    folder = link(tmp_path / "models", synth_models.embedding, skip=("F32",))
    truncate(synth_models.embedding["F32"], folder / "Qwen3-Embedding-Tiny-F32.gguf", 50_000_000)
    (folder / "notes.gguf").write_text("not a model\n")
    plans = plan_models([folder, tmp_path / "missing"], PREFS)
    (p,) = plans
    assert [u.path.name for u in p.unreadable] == ["Qwen3-Embedding-Tiny-F32.gguf", "notes.gguf"]
    assert "truncated" in p.unreadable[0].reason
    assert p.chosen.description.quant != "F32"
    assert len(p.candidates) == 6
    assert p.to_dict()["unreadable"][0]["status"] == "unreadable"


def test_choice_on_this_machine_follows_its_bf16_support(synth_models: SynthModels, tmp_path: Path) -> None:
    hardware = probe_hardware()
    folder = link(tmp_path / "models", synth_models.embedding, skip=("F32",))
    (p,) = plan_models([folder], PREFS, hardware)
    expected = "BF16" if "avx512_bf16" in Path("/proc/cpuinfo").read_text().split() else "Q8_0"
    assert p.chosen.description.quant == expected
    assert p.chosen.device == "cpu" and p.chosen.n_gpu_layers == 0
    assert p.chosen.n_threads == hardware.cpu_threads
    assert p.chosen.settings.n_threads == hardware.cpu_threads
    assert p.chosen.settings.n_ctx == 512
    assert [c.description.quant for c in p.load_order][:2] == [expected, "F16" if expected == "BF16" else "BF16"]
    assert not p.degraded
    assert p.hardware_summary == hardware.summary()


def test_f32_is_chosen_when_it_fits(synth_models: SynthModels, tmp_path: Path) -> None:
    folder = link(tmp_path / "models", synth_models.embedding)
    (p,) = plan_models([folder], PREFS, probe_hardware())
    assert p.chosen.description.quant == "F32"
    assert [c.description.quant for c in p.candidates][-2:] == ["IQ3_M", "IQ3_S"]


def test_embedding_and_reranker_share_the_budget(synth_models: SynthModels, models_dir: Path) -> None:
    plans = plan_models([models_dir], PREFS, probe_hardware())
    assert [(p.model_id, p.chosen.description.quant) for p in plans] == [
        ("qwen3-embedding-tiny", "Q8_0"),
        ("qwen3-reranker-tiny", "F16"),
    ]
    assert all(p.chosen.fits for p in plans)
