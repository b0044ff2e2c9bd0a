"""Describe a GGUF file from its own metadata, without loading it into llama.cpp.

The router reads every candidate file at start-up, so this must be cheap: only the
header and tensor table are parsed (see gguf_header.py).
File names are never trusted; hubs name files inconsistently.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import gguf

from router.heads import colbert_dim, head_bytes, outputs_of
from router.gguf_header import GgufFormatError, SkippedArray, read_header
from router.types import GgufDescription, ModelKind, Pooling, PoolingChoice, PoolingSource

_POOLING_BY_ID: dict[int, Pooling] = {0: "none", 1: "mean", 2: "cls", 3: "last", 4: "rank"}

DECODER_ARCHES = frozenset(
    {"qwen3", "qwen2", "qwen3moe", "qwen2moe", "llama", "mistral", "mistral3", "gemma", "gemma2", "gemma3", "phi3"}
)
"""Causal decoders: embedding models built on them (Qwen3-Embedding, gte-Qwen2-instruct, e5-mistral)
are last-token pooled. llama.cpp's converter writes a pooling type only when the checkpoint has
sentence-transformers modules, so community conversions of the bare model name none, and mean
pooling a decoder gives vectors unrelated to the model's (cosine -0.055 to the reference, measured)."""


class UnreadableGgufError(ValueError):
    """The file is not a GGUF we can describe (truncated, corrupt, or missing keys)."""


def describe_gguf(path: Path) -> GgufDescription:
    try:
        header = read_header(path)
    except (OSError, GgufFormatError) as exc:
        raise UnreadableGgufError(f"{path.name}: not a readable GGUF ({exc})") from exc
    fields = header.fields
    arch = str(fields.get("general.architecture", ""))
    if not arch:
        raise UnreadableGgufError(f"{path.name}: no general.architecture")
    try:
        hidden = int(fields[f"{arch}.embedding_length"])
        layers = int(fields[f"{arch}.block_count"])
    except KeyError as exc:
        raise UnreadableGgufError(f"{path.name}: missing {exc.args[0]}") from exc
    file_size = path.stat().st_size
    if header.data_end > file_size:
        raise UnreadableGgufError(f"{path.name}: truncated ({file_size} of {header.data_end} bytes)")
    heads = int(fields.get(f"{arch}.attention.head_count", 1))
    tensor_names = {t.name for t in header.tensors}
    n_params = sum(t.n_elements for t in header.tensors)
    n_bytes = sum(t.n_bytes for t in header.tensors)
    name = str(fields.get("general.name", "")) or str(fields.get("general.basename", "")) or arch
    has_cls = "cls.output.weight" in tensor_names or "cls.weight" in tensor_names
    file_pooling = _POOLING_BY_ID.get(int(fields.get(f"{arch}.pooling_type", 0)), "none")
    kind = _kind(name, file_pooling, has_cls)
    pooling, source = _pooling(arch, kind, file_pooling)
    file_type = int(fields.get("general.file_type", -1))
    return GgufDescription(
        path=path,
        architecture=arch,
        name=name,
        kind=kind,
        hidden_size=hidden,
        n_layers=layers,
        n_heads=heads,
        n_kv_heads=int(fields.get(f"{arch}.attention.head_count_kv", heads)),
        head_dim=int(fields.get(f"{arch}.attention.key_length", hidden // max(heads, 1))),
        ffn_size=int(fields.get(f"{arch}.feed_forward_length", 0)),
        vocab_size=_length(fields.get("tokenizer.ggml.tokens")),
        context_length=int(fields.get(f"{arch}.context_length", 0)),
        pooling=pooling,
        file_type=file_type,
        quant=quant_name(file_type),
        has_cls_output=has_cls,
        file_size=file_size,
        n_params=n_params,
        bits_per_weight=8.0 * n_bytes / max(n_params, 1),
        identity=f"{arch}:{name}:{hidden}x{layers}:{_length(fields.get('tokenizer.ggml.tokens'))}:{kind}",
        model_id=slug(name),
        pooling_source=source,
        file_pooling=file_pooling,
        outputs=outputs_of(fields) if kind == "embedding" else (),
        head_bytes=head_bytes(fields),
        colbert_dim=colbert_dim(fields),
    )


def infer_pooling(architecture: str) -> PoolingChoice:
    """The pooling an embedding model of this architecture is trained with: decoders by the last
    token (with the end-of-text rule of the prompt templates), encoders by the mean."""
    return "last" if architecture in DECODER_ARCHES else "mean"


def with_pooling(description: GgufDescription, pooling: PoolingChoice | None) -> GgufDescription:
    """The description with the operator's override applied (None: unchanged). Rerankers keep
    theirs: their score does not come from pooling."""
    if pooling is None or description.kind != "embedding":
        return description
    return replace(description, pooling=pooling, pooling_source="override")


def _pooling(arch: str, kind: ModelKind, file_pooling: Pooling) -> tuple[Pooling, PoolingSource]:
    if kind == "embedding" and file_pooling == "none":
        return infer_pooling(arch), "inferred"
    return file_pooling, "file"


def quant_name(file_type: int) -> str:
    """`general.file_type` as the quant names users know (Q4_K_M, IQ3_M, BF16...)."""
    try:
        member = gguf.LlamaFileType(file_type)
    except ValueError:
        return "unknown"
    return re.sub(r"^(MOSTLY_|ALL_)", "", member.name)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", name.lower()).strip("-")


def _kind(name: str, pooling: Pooling, has_cls: bool) -> ModelKind:
    if pooling == "rank" or has_cls or "rerank" in name.lower():
        return "reranker"
    return "embedding"


def _length(value: Any) -> int:
    if isinstance(value, SkippedArray):
        return value.length
    return len(value) if isinstance(value, list) else 0
