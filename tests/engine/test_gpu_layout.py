"""The GPU placement's engine on this CPU: the layout the router gives a GPU (mmap, 256 sequences a
step, flash attention, long steps) loads, and answers what the CPU layout answers; the llama.cpp
build comes from where llama-cpp-python loads it (`LLAMA_CPP_LIB_PATH`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from router.types import EngineSettings
from service.core.values import EmbedOptions
from service.engine import Model, load_model
from service.engine.llama_backend import ModelLoadError, _ggml_base, library_folder
from tests.conftest import SynthModels

GPU_LAYOUT = EngineSettings(n_ctx=512, n_gpu_layers=99)
"""The router's GPU settings for these files: on a CPU-only build the layers stay on the CPU, and
the rest of the layout (load mode, sequences, flash attention, step) is the GPU's."""
CPU_LAYOUT = EngineSettings(n_ctx=512, n_batch=32)
"""Today's CPU layout with 32-token steps, so that long documents are split over steps."""
LINES = " ".join(f"line {i}: the river bends past the mill and the old stone bridge." for i in range(14))
TEXTS = ["What is the capital of China?", "Explain gravity", LINES, LINES[:200], "x " * 700]
QUERY = "Which bridge crosses the river by the mill?"


def loaded(path: Path, settings: EngineSettings) -> Iterator[Model]:
    model = load_model(path, settings)
    yield model
    model.close()


@pytest.fixture(scope="module")
def embedders(synth_models: SynthModels) -> Iterator[tuple[Model, Model]]:
    for gpu in loaded(synth_models.embedding["F32"], GPU_LAYOUT):
        for cpu in loaded(synth_models.embedding["F32"], CPU_LAYOUT):
            yield gpu, cpu


def cosines(a: list[npt.NDArray[np.float32]], b: list[npt.NDArray[np.float32]]) -> npt.NDArray[np.float64]:
    x, y = np.stack(a).astype(np.float64), np.stack(b).astype(np.float64)
    return np.asarray((x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1)))


def test_the_gpu_layout_loads_with_mmap_many_sequences_and_flash_attention(embedders: tuple[Model, Model]) -> None:
    gpu, cpu = embedders
    assert (gpu._rt.load_mode, gpu._rt.n_seq_max, gpu._rt.flash_attn, gpu._rt.n_batch) == ("mmap", 256, True, 512)
    assert (cpu._rt.load_mode, cpu._rt.n_seq_max, cpu._rt.flash_attn, cpu._rt.n_batch) == ("read", 16, False, 32)
    assert not gpu.stepper.urgent_alone and cpu.stepper.urgent_alone


@pytest.mark.parametrize(
    "options",
    [
        EmbedOptions(),
        EmbedOptions(input_type="query"),  # the instruction is a shared prefix
        EmbedOptions(truncate=True, dimensions=64),
    ],
    ids=["documents", "instructed-queries", "truncated"],
)
def test_vectors_equal_the_cpu_layouts(embedders: tuple[Model, Model], options: EmbedOptions) -> None:
    gpu, cpu = embedders
    texts = TEXTS if options.truncate else TEXTS[:4]
    on_gpu = [e.vector for e in gpu.embed(texts * 8, options)]  # 40 sequences: more than 16 in a step
    on_cpu = [e.vector for e in cpu.embed(texts, options)]
    assert cosines(on_gpu, on_cpu * 8).min() >= 0.99999


@pytest.mark.parametrize("kind", ["reranker_cls", "reranker_lm"])
def test_scores_equal_the_cpu_layouts(synth_models: SynthModels, kind: str) -> None:
    path = getattr(synth_models, kind)["F32"]
    documents = ["The stone bridge by the mill.", LINES, "A cat sleeps on the warm mat.", LINES[:300]] * 10
    for gpu in loaded(path, GPU_LAYOUT):
        on_gpu = [s.score for s in gpu.rerank(QUERY, documents)]
    for cpu in loaded(path, CPU_LAYOUT):
        on_cpu = [s.score for s in cpu.rerank(QUERY, documents)]
    assert np.abs(np.array(on_gpu) - np.array(on_cpu)).max() <= 1e-4


def test_the_library_folder_follows_llama_cpp_lib_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LLAMA_CPP_LIB_PATH", raising=False)
    installed = library_folder()
    assert installed.name == "lib" and any(installed.glob("libggml-base.*"))
    monkeypatch.setenv("LLAMA_CPP_LIB_PATH", str(tmp_path))
    assert library_folder() == tmp_path
    with pytest.raises(ModelLoadError, match=f"no libggml-base library in {tmp_path}"):
        _ggml_base()


def test_a_build_named_by_llama_cpp_lib_path_serves(synth_models: SynthModels, tmp_path: Path) -> None:
    """A user's own build (here: a copy of the installed libraries in another folder) is the one
    whose ggml the hidden-state tap reads; before, the tap opened the package's lib folder."""
    installed = library_folder({})
    build = tmp_path / "build" / "bin"
    build.mkdir(parents=True)
    for lib in installed.iterdir():
        shutil.copy(lib, build / lib.name)
    script = (
        "import sys\n"
        "from router.types import EngineSettings\n"
        "from service.core.values import EmbedOptions\n"
        "from service.engine import load_model\n"
        "m = load_model(__import__('pathlib').Path(sys.argv[1]), EngineSettings(n_ctx=256))\n"
        "v = m.embed(['a short text'], EmbedOptions())[0].vector\n"
        "maps = open('/proc/self/maps').read()\n"
        "print(len(v), sys.argv[2] + '/libggml-base' in maps)\n"
    )
    env = {**os.environ, "LLAMA_CPP_LIB_PATH": str(build)}
    run = subprocess.run(
        [sys.executable, "-c", script, str(synth_models.embedding["Q8_0"]), str(build)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["256", "True"]


def test_serve_loads_libllama_before_numpy(tmp_path: Path) -> None:
    """With numpy imported first, a CUDA build of llama.cpp crashed loading any model (H200); the
    server's entry loads the engine, and so libllama, before anything imports numpy."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "service.cli", "serve", "--models", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert run.returncode == 2, run.stderr[-2000:]  # the missing folder is refused after the imports
    modules = [line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")]
    assert modules.index("llama_cpp.llama_cpp") < modules.index("numpy")
