"""Shared fixtures: real GGUF files written by `embedroute synth`'s code, once per run.

The files go to `.cache/test-models/` in the checkout (ignored by git): a fresh clone,
as CI uses, makes them anew; a developer's reruns reuse them. A lock file keeps
parallel test runs from writing the same file twice.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from service.prepare.synth.ladder import synth_ladder

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "test-models" / "v1"

EMBEDDING_QUANTS = ("F32", "F16", "BF16", "Q8_0", "Q4_K_M", "IQ3_M", "IQ3_S")
RERANKER_QUANTS = ("F32", "F16", "Q8_0")


@dataclass(frozen=True)
class SynthModels:
    embedding: dict[str, Path]
    reranker_cls: dict[str, Path]
    reranker_lm: dict[str, Path]


@pytest.fixture(scope="session")
def synth_models() -> Iterator[SynthModels]:
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        models = SynthModels(
            embedding=synth_ladder(CACHE, "tiny", "embedding", EMBEDDING_QUANTS),
            reranker_cls=synth_ladder(CACHE, "tiny", "reranker-cls", RERANKER_QUANTS),
            reranker_lm=synth_ladder(CACHE, "tiny", "reranker-lm", RERANKER_QUANTS),
        )
        fcntl.flock(lock, fcntl.LOCK_UN)
    yield models


BARE_QUANTS = ("F32", "F16", "Q8_0")


@pytest.fixture(scope="session")
def bare_models() -> Iterator[dict[str, Path]]:
    """The embedding model as a community conversion writes it: no pooling type in the file."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        models = synth_ladder(CACHE / "bare", "tiny", "embedding-bare", BARE_QUANTS)
        fcntl.flock(lock, fcntl.LOCK_UN)
    yield models


@pytest.fixture(scope="session")
def models_dir(synth_models: SynthModels, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a server under test is started with: one embedding model and one reranker."""
    folder = tmp_path_factory.mktemp("served-models")
    for source in (synth_models.embedding["Q8_0"], synth_models.reranker_cls["F16"]):
        (folder / source.name).symlink_to(source)
    return folder


M3_QUANTS = ("F32", "F16", "Q8_0")


@dataclass(frozen=True)
class M3Models:
    checkpoint: Path
    """The tiny BGE-M3-shaped checkpoint folder (tests/models/m3_checkpoint.py)."""
    gguf: dict[str, Path]
    """Converted by service.prepare.hf2gguf (F32, F16), quantised by llama.cpp's quantiser (Q8_0)."""


@pytest.fixture(scope="session")
def m3_models(tmp_path_factory: pytest.TempPathFactory) -> M3Models:
    """Made anew each run: a tiny checkpoint and its conversions take well under a second."""
    from service.engine.quantize import quantize
    from service.prepare.hf2gguf.xlmr import convert_xlm_roberta
    from tests.models.m3_checkpoint import make_m3_checkpoint

    folder = tmp_path_factory.mktemp("m3")
    checkpoint = make_m3_checkpoint(folder / "tiny-bge-m3")
    f32 = convert_xlm_roberta(checkpoint, folder / "tiny-bge-m3-F32.gguf", "F32")
    f16 = convert_xlm_roberta(checkpoint, folder / "tiny-bge-m3-F16.gguf", "F16")
    q8 = quantize(f32, folder / "tiny-bge-m3-Q8_0.gguf", "Q8_0")
    return M3Models(checkpoint, {"F32": f32, "F16": f16, "Q8_0": q8})


M3_MODEL = "tiny-bge-m3"


@pytest.fixture(scope="session")
def m3_served(m3_models: M3Models, synth_models: SynthModels, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A server (gRPC and HTTP) with the tiny BGE-M3 (F32) as its only embedding model, and a reranker."""
    from tests.hardening.conftest import free_port
    from tests.rpc.harness import RunningServer, server_settings

    folder = tmp_path_factory.mktemp("m3-served")
    for source in (m3_models.gguf["F32"], synth_models.reranker_cls["F16"]):
        (folder / source.name).symlink_to(source)
    server = RunningServer(server_settings(folder, http_port=free_port())).load()
    yield server
    server.stop()
