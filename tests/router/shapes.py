"""GgufDescription values for the published Qwen3-Embedding/Reranker shapes (no files).

Sizes follow llama.cpp's type table (/work/shared/design/facts.md): K-quant and IQ
mixes keep the token embedding (and output head) at Q6_K, so their real bits per
weight are a weighted mix, which is how the 0.6B Q4_K_M comes to 5.3 bits (399 MB
measured) while the 8B's is near 4.9.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from router.metadata import slug
from router.types import GgufDescription, ModelKind


@dataclass(frozen=True)
class Shape:
    name: str
    layers: int
    hidden: int
    ffn: int
    heads: int
    kv_heads: int
    tied: bool


SHAPES = {
    "0.6B": Shape("0.6B", layers=28, hidden=1024, ffn=3072, heads=16, kv_heads=8, tied=True),
    "4B": Shape("4B", layers=36, hidden=2560, ffn=9728, heads=32, kv_heads=8, tied=True),
    "8B": Shape("8B", layers=36, hidden=4096, ffn=12288, heads=32, kv_heads=8, tied=False),
}
HEAD_DIM = 128
VOCAB = 151_669

# quant -> (llama file type, bits per weight of the layers, of the embedding/output)
QUANTS: dict[str, tuple[int, float, float]] = {
    "F32": (0, 32.0, 32.0),
    "BF16": (32, 16.0, 16.0),
    "F16": (1, 16.0, 16.0),
    "Q8_0": (7, 8.5, 8.5),
    "Q6_K": (18, 6.5625, 6.5625),
    "Q5_K_M": (17, 5.7, 6.5625),
    "Q4_K_M": (15, 4.85, 6.5625),
    "Q4_0": (2, 4.5, 6.5625),
    "IQ4_XS": (30, 4.25, 6.5625),
    "IQ3_M": (27, 3.7, 6.5625),
    "IQ2_M": (29, 2.7, 5.5),
}

FULL_LADDER = ("BF16", "F16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0", "IQ4_XS", "IQ3_M", "IQ2_M")
SIXTEEN_AND_EIGHT = ("BF16", "F16", "Q8_0")


def layer_params(s: Shape) -> int:
    q = s.heads * HEAD_DIM
    kv = s.kv_heads * HEAD_DIM
    norms = 2 * s.hidden + 2 * HEAD_DIM
    return 2 * s.hidden * q + 2 * s.hidden * kv + 3 * s.hidden * s.ffn + norms


def describe(shape_name: str, kind: ModelKind, quant: str, folder: Path = Path("/models")) -> GgufDescription:
    s = SHAPES[shape_name]
    file_type, layer_bpw, embd_bpw = QUANTS[quant]
    embd_params = VOCAB * s.hidden * (1 if s.tied else 2)
    layers = s.layers * layer_params(s)
    cls = 2 * s.hidden if kind == "reranker" else 0
    n_params = embd_params + layers + s.hidden + cls
    n_bytes = (embd_params * embd_bpw + (layers + s.hidden + cls) * layer_bpw) / 8
    title = "Embedding" if kind == "embedding" else "Reranker"
    name = f"Qwen3-{title}-{shape_name}"
    return GgufDescription(
        path=folder / f"{name}-{quant}.gguf",
        architecture="qwen3",
        name=name,
        kind=kind,
        hidden_size=s.hidden,
        n_layers=s.layers,
        n_heads=s.heads,
        n_kv_heads=s.kv_heads,
        head_dim=HEAD_DIM,
        ffn_size=s.ffn,
        vocab_size=VOCAB,
        context_length=32_768,
        pooling="last" if kind == "embedding" else "rank",
        file_type=file_type,
        quant=quant,
        has_cls_output=kind == "reranker",
        file_size=int(n_bytes) + 6_000_000,
        n_params=n_params,
        bits_per_weight=8 * n_bytes / n_params,
        identity=f"qwen3:{name}:{s.hidden}x{s.layers}:{VOCAB}:{kind}",
        model_id=slug(name),
    )


def ladder(shape_name: str, kind: ModelKind, quants: tuple[str, ...]) -> list[GgufDescription]:
    return [describe(shape_name, kind, q) for q in quants]
