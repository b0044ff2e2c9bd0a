"""Write a synthetic model and its quantisation ladder, the way hubs publish real ones."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from service.engine.quantize import quantize
from service.prepare.synth.qwen3 import SHAPES, FloatType, SynthKind, model_name, synthesize

DEFAULT_QUANTS: tuple[str, ...] = ("F32", "F16", "BF16", "Q8_0", "Q4_K_M", "IQ3_M", "IQ3_S")
_STEM_SUFFIX: dict[SynthKind, str] = {"reranker-lm": "-LM", "embedding-bare": "-NoPooling"}


def synth_ladder(
    out_dir: Path,
    shape_name: str,
    kind: SynthKind,
    quants: Sequence[str] = DEFAULT_QUANTS,
    *,
    seed: int = 0,
    n_threads: int = 0,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Path]:
    """Returns {quant: path}. Files that already exist are kept, so reruns are cheap."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = model_name(SHAPES[shape_name], kind) + _STEM_SUFFIX.get(kind, "")
    # Tiny models start from F32 (exact reference); big ones from BF16 to halve memory and disk.
    base_type: FloatType = "F32" if shape_name == "tiny" else "BF16"
    base = out_dir / f"{stem}-{base_type}.gguf"
    if not base.exists():
        progress(f"writing {base.name}")
        tmp = base.with_name(base.name + ".part")
        synthesize(tmp, shape_name, kind, base_type, seed)
        tmp.replace(base)
    paths: dict[str, Path] = {}
    for quant in quants:
        path = out_dir / f"{stem}-{quant}.gguf"
        if not path.exists():
            progress(f"quantising {path.name}")
            quantize(base, path, quant, n_threads)
        paths[quant] = path
    if base_type not in quants:
        base.unlink()
    return paths
