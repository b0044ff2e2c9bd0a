"""Context sizes a BERT GGUF must survive: each of these aborted the whole process (GGML_ASSERT).

llama.cpp pads n_ctx up to a multiple of 256 but leaves n_batch/n_ubatch as asked, and
BERT's learned position table has no row past its trained context. Each case runs in a
child interpreter, because the failure is an abort that would take pytest down with it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.models.conftest import REPO

_CHILD = """
import sys
from pathlib import Path
from router.types import EngineSettings
from service.core.values import EmbedOptions
from service.engine import load_model
from service.prepare.hf2gguf.evaluate import load_set
model = load_model(Path(sys.argv[1]), EngineSettings(n_ctx=int(sys.argv[2]), n_threads=1))
texts = load_set().passages[:16] + ["word " * 700]
vectors = model.embed(texts, EmbedOptions(truncate=True))
print(model.n_ctx, max(v.n_tokens for v in vectors), len(vectors))
"""


@pytest.mark.parametrize(("asked", "expected"), [(128, 256), (200, 256), (300, 512), (1024, 512)])
def test_any_n_ctx_loads_and_embeds(minilm: dict[str, Path], asked: int, expected: int) -> None:
    run = subprocess.run(
        [sys.executable, "-c", _CHILD, str(minilm["Q8_0"]), str(asked)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    # The usable context is llama.cpp's padded one, never past the 512 learned positions.
    assert run.stdout.split() == [str(expected), str(expected), "17"]
