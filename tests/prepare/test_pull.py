"""`embedroute pull` against a hub on loopback: the router's variant, only it, resumable, verified."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import router
from router import RouterPrefs, load_profile
from router.metadata import describe_gguf
from service.core.space import recorded_sha256
from service.prepare.pull.hub import RemoteFile
from service.prepare.pull.remote import FIRST_RANGE, infer_from_name, quant_in_name
from tests.conftest import SynthModels
from tests.prepare.conftest import EMBED_REPO, LADDER
from tests.prepare.fake_hub import FakeHub, Sent

REPO_ROOT = Path(__file__).resolve().parents[2]
PROFILES = REPO_ROOT / "router" / "profiles"
CUT_AT = 20 * 1024**2


def run_pull(hub: FakeHub, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_ENDPOINT=hub.endpoint, HF_HOME=str(REPO_ROOT / ".cache" / "hf-home-tests"))
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "pull", *args, "--quiet"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("profile", "quant"),
    [("laptop-avx2-16gb.yaml", "Q8_0"), ("t4-16gb.yaml", "F16")],
)
def test_downloads_only_the_routers_choice(
    hub: FakeHub, synth_models: SynthModels, tmp_path: Path, profile: str, quant: str
) -> None:
    ladder_dir = tmp_path / "ladder"
    ladder_dir.mkdir()
    for q in LADDER:
        (ladder_dir / synth_models.embedding[q].name).symlink_to(synth_models.embedding[q])
    local_plan = router.plan_models([ladder_dir], RouterPrefs(), load_profile(PROFILES / profile))
    assert local_plan[0].chosen.description.quant == quant  # what the server would pick with every rung here

    models = tmp_path / "models"
    done = run_pull(hub, EMBED_REPO, "--models", str(models), "--hardware-profile", str(PROFILES / profile))

    assert done.returncode == 0, done.stderr
    chosen = synth_models.embedding[quant]
    assert done.stdout.splitlines() == [str(models / chosen.name)]
    assert sorted(p.name for p in models.iterdir()) == [chosen.name, chosen.name + ".sha256"]
    assert sha256(models / chosen.name) == hub.sha256(chosen)
    assert recorded_sha256(models / chosen.name) == hub.sha256(chosen)  # the vector-space id's digest, from the hub
    whole = [s for s in hub.sent if s.range is None]
    assert whole == [Sent(chosen.name, None, chosen.stat().st_size)]
    headers = sorted((s.file, s.range, s.n_bytes) for s in hub.sent if s.range is not None)
    header_range = f"bytes=0-{FIRST_RANGE - 1}"
    assert headers == sorted((synth_models.embedding[q].name, header_range, FIRST_RANGE) for q in LADDER)


def test_resumes_a_cut_download(hub: FakeHub, synth_models: SynthModels, tmp_path: Path) -> None:
    chosen = synth_models.embedding["Q8_0"]
    hub.cut_after[chosen.name] = CUT_AT
    models = tmp_path / "models"
    args = (EMBED_REPO, "--models", str(models), "--hardware-profile", str(PROFILES / "laptop-avx2-16gb.yaml"))

    cut = run_pull(hub, *args)
    assert cut.returncode == 1
    assert "run again to resume" in cut.stderr
    assert [(p.name, p.stat().st_size) for p in models.iterdir()] == [(chosen.name + ".part", CUT_AT)]

    resumed = run_pull(hub, *args)
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(p.name for p in models.iterdir()) == [chosen.name, chosen.name + ".sha256"]
    assert sha256(models / chosen.name) == hub.sha256(chosen)
    fetches = [s for s in hub.sent if s.file == chosen.name and s.range != f"bytes=0-{FIRST_RANGE - 1}"]
    size = chosen.stat().st_size
    assert fetches == [Sent(chosen.name, None, CUT_AT), Sent(chosen.name, f"bytes={CUT_AT}-", size - CUT_AT)]


def test_rejects_a_file_whose_checksum_differs(hub: FakeHub, synth_models: SynthModels, tmp_path: Path) -> None:
    chosen = synth_models.embedding["Q8_0"]
    hub.wrong_sha.add(chosen.name)
    models = tmp_path / "models"

    done = run_pull(hub, EMBED_REPO, "--models", str(models), "--hardware-profile", str(PROFILES / "laptop-avx2-16gb.yaml"))

    assert done.returncode == 1
    assert f"{chosen.name}: checksum {hub.sha256(chosen)} differs from the hub's {'0' * 64}" in done.stderr
    assert list(models.iterdir()) == []


def test_all_takes_the_whole_ladder(hub: FakeHub, synth_models: SynthModels, tmp_path: Path) -> None:
    models = tmp_path / "models"
    done = run_pull(hub, EMBED_REPO, "--models", str(models), "--all", "--hardware-profile", str(PROFILES / "t4-16gb.yaml"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in models.iterdir() if p.suffix == ".gguf") == sorted(
        synth_models.embedding[q].name for q in LADDER
    )
    assert all(recorded_sha256(p) == hub.sha256(p) for p in models.glob("*.gguf"))
    assert Path(done.stdout.splitlines()[0]).name == synth_models.embedding["F16"].name  # the choice first


def test_kind_that_the_repository_lacks(hub: FakeHub, tmp_path: Path) -> None:
    done = run_pull(hub, EMBED_REPO, "--models", str(tmp_path), "--kind", "reranker")
    assert done.returncode == 1
    assert "no reranker model among the repository's files; found: qwen3-embedding-tiny (embedding)" in done.stderr
    assert [s for s in hub.sent if s.range is None] == []


def test_unreachable_hub_exits_3(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env["HF_ENDPOINT"] = "http://127.0.0.1:9"  # discard port: connection refused
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "pull", EMBED_REPO, "--models", str(tmp_path)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert "cannot reach http://127.0.0.1:9" in done.stderr


def test_unreadable_header_is_inferred_from_a_sibling(synth_models: SynthModels) -> None:
    q8 = describe_gguf(synth_models.embedding["Q8_0"])
    file = RemoteFile("Qwen3-Embedding-Tiny-Q4_K_M.gguf", 40_000_000, "x", "sha256", "http://127.0.0.1/x")
    guess = infer_from_name(file, [q8])
    assert guess is not None
    assert guess.inferred_from == q8.path.name
    d = guess.description
    assert (d.quant, d.file_size, d.path, d.identity) == ("Q4_K_M", 40_000_000, Path(file.name), q8.identity)
    assert d.bits_per_weight == pytest.approx(8 * 40_000_000 / q8.n_params)
    assert [quant_in_name(n) for n in ("m-IQ3_M.gguf", "m.BF16.gguf", "m-q8_0.gguf", "model.gguf")] == [
        "IQ3_M", "BF16", "Q8_0", None
    ]
