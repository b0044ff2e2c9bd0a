"""`embedroute route`: text and JSON explanations, profiles, recording, pins."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import router
from router.explain import main
from router.hardware import load_profile
from tests.conftest import SynthModels

PROFILES = Path(__file__).resolve().parents[2] / "router" / "profiles"


def run(argv: list[str]) -> str:
    out = io.StringIO()
    assert main(argv, out) == 0
    return out.getvalue()


@pytest.fixture()
def ladder_dir(synth_models: SynthModels, tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    for source in synth_models.embedding.values():
        (folder / source.name).symlink_to(source)
    (folder / "broken.gguf").write_bytes(synth_models.embedding["Q8_0"].read_bytes()[:4096])
    return folder


def test_text_shows_hardware_candidates_choice_and_unreadable(ladder_dir: Path) -> None:
    text = run(["--models", str(ladder_dir), "--ctx", "512"])
    assert text.startswith("Hardware (probe)\n")
    assert "GPU      none" in text and "Budget     RAM" in text
    assert "qwen3-embedding-tiny (embedding): 512 tokens per sequence" in text
    rows = [line for line in text.splitlines() if ".gguf" in line and line.strip()[:1].isdigit()]
    assert len(rows) == 7
    assert "chosen" in rows[0] and "Qwen3-Embedding-Tiny-F32.gguf" in rows[0]
    assert "choice: F32 (Qwen3-Embedding-Tiny-F32.gguf) on cpu" in text
    assert "Unreadable files (skipped)" in text and "broken.gguf" in text


def test_json_for_machines(ladder_dir: Path) -> None:
    data = json.loads(run(["--models", str(ladder_dir), "--ctx", "512", "--json"]))
    assert set(data) == {"hardware", "budget", "models", "unreadable"}
    (model,) = data["models"]
    assert model["model_id"] == "qwen3-embedding-tiny"
    assert model["chosen"]["quant"] == "F32" and model["chosen"]["fits"] is True
    assert len(model["candidates"]) == 7
    assert all({"estimated_bytes", "fits", "reason", "device"} <= set(c) for c in model["candidates"])
    assert model["degraded"] is False
    assert [u["path"].endswith("broken.gguf") for u in data["unreadable"]] == [True]


def test_hardware_profile_replay(ladder_dir: Path) -> None:
    data = json.loads(
        run(
            [
                "--models",
                str(ladder_dir),
                "--ctx",
                "512",
                "--json",
                "--hardware-profile",
                str(PROFILES / "t4-16gb.yaml"),
            ]
        )
    )
    assert data["hardware"]["source"] == "profile t4-16gb.yaml"
    chosen = data["models"][0]["chosen"]
    assert (chosen["quant"], chosen["device"], chosen["n_gpu_layers"]) == ("F32", "gpu", 3)


def test_record_writes_a_replayable_profile(ladder_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "me.yaml"
    run(["--models", str(ladder_dir), "--record", str(target)])
    recorded, probed = load_profile(target), router.probe_hardware()
    assert recorded.cpu == probed.cpu
    assert recorded.memory_total_bytes == probed.memory_total_bytes
    assert recorded.cpu_threads == probed.cpu_threads
    assert recorded.gpus == () and recorded.llama_gpu_offload is False


def test_pin_forces_quant_and_is_explained(ladder_dir: Path) -> None:
    text = run(["--models", str(ladder_dir), "--ctx", "512", "--pin", "qwen3-embedding-tiny=IQ3_M@cpu"])
    assert "choice: IQ3_M (Qwen3-Embedding-Tiny-IQ3_M.gguf) on cpu" in text
    assert "pinned by operator to IQ3_M@cpu" in text
    assert text.count("excluded: qwen3-embedding-tiny is pinned to IQ3_M@cpu") == 6


@pytest.mark.parametrize(
    ("pin", "message"),
    [
        ("qwen3-embedding-tiny=Q5_K_M", "has no Q5_K_M file"),
        ("qwen3-embedding-tiny=@gpu", "no GPU"),
        ("nobody=Q8_0", "unknown models: nobody"),
        ("qwen3-embedding-tiny=Q8_0@tpu", "device must be cpu or gpu"),
    ],
)
def test_bad_pins_fail_clearly(ladder_dir: Path, pin: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--models", str(ladder_dir), "--pin", pin], io.StringIO()) == 2
    assert message in capsys.readouterr().err


def test_bad_profile_fails_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("cpu: [\n")
    assert main(["--hardware-profile", str(bad)], io.StringIO()) == 2
    assert "embedroute route:" in capsys.readouterr().err


def test_no_models(tmp_path: Path) -> None:
    assert "No usable GGUF files found." in run(["--models", str(tmp_path)])
