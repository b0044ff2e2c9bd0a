"""Synthetic Qwen3 embedding and reranker GGUFs: real architecture and vocabulary, random weights.

They exist so that the engine can be proved against an independent reference on this
machine (no hub, no PyTorch) and so that users can smoke-test a deployment with
`embedroute synth`. Weights come from a fixed seed, so every run writes the same files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import gguf
import numpy as np
import numpy.typing as npt

from service.prepare.synth.vocab import ENDOFTEXT_ID, Vocabulary, qwen3_vocabulary

SynthKind = Literal["embedding", "embedding-bare", "reranker-cls", "reranker-lm"]
"""`embedding-bare` is a Qwen3 embedding model as community conversions of the bare `Qwen3Model`
write it: the same tensors, but no pooling type (the checkpoint had no sentence-transformers modules)."""
EMBEDDING_KINDS = ("embedding", "embedding-bare")
FloatType = Literal["F32", "F16", "BF16"]

RMS_EPS = 1e-6
ROPE_THETA = 1_000_000.0
YES_TOKEN = "yes"
NO_TOKEN = "no"

Weights = dict[str, npt.NDArray[np.float32]]


@dataclass(frozen=True)
class Qwen3Shape:
    label: str
    hidden: int
    layers: int
    ffn: int
    heads: int
    kv_heads: int
    head_dim: int
    context: int = 32768


SHAPES: dict[str, Qwen3Shape] = {
    # Smallest shape whose every weight row is a multiple of 256, so K-quants and IQ3 apply.
    "tiny": Qwen3Shape("Tiny", hidden=256, layers=2, ffn=768, heads=4, kv_heads=2, head_dim=64),
    "0.6b": Qwen3Shape("0.6B", hidden=1024, layers=28, ffn=3072, heads=16, kv_heads=8, head_dim=128),
}

_FLOAT_FILE_TYPES: dict[FloatType, gguf.LlamaFileType] = {
    "F32": gguf.LlamaFileType.ALL_F32,
    "F16": gguf.LlamaFileType.MOSTLY_F16,
    "BF16": gguf.LlamaFileType.MOSTLY_BF16,
}

RERANK_SYSTEM_PROMPT = (
    'Judge whether the Document meets the requirements based on the Query and the Instruct provided. '
    'Note that the answer can only be "yes" or "no".'
)


def model_name(shape: Qwen3Shape, kind: SynthKind) -> str:
    family = "Embedding" if kind in EMBEDDING_KINDS else "Reranker"
    suffix = "" if shape.label == "Tiny" else "-Synth"
    return f"Qwen3-{family}-{shape.label}{suffix}"


def make_weights(shape: Qwen3Shape, vocab: Vocabulary, kind: SynthKind, seed: int = 0) -> Weights:
    """All tensors in GGUF naming with numpy (out, in) shapes, float32."""
    rng = np.random.default_rng(seed)

    def matrix(rows: int, cols: int) -> npt.NDArray[np.float32]:
        out: npt.NDArray[np.float32] = rng.standard_normal((rows, cols), dtype=np.float32)
        out /= np.float32(np.sqrt(cols))
        return out

    def norm(size: int) -> npt.NDArray[np.float32]:
        return (1.0 + 0.1 * rng.standard_normal(size, dtype=np.float32)).astype(np.float32)

    q_rows = shape.heads * shape.head_dim
    kv_rows = shape.kv_heads * shape.head_dim
    weights: Weights = {"token_embd.weight": rng.standard_normal((vocab.size, shape.hidden), dtype=np.float32)}
    for layer in range(shape.layers):
        prefix = f"blk.{layer}."
        weights[prefix + "attn_norm.weight"] = norm(shape.hidden)
        weights[prefix + "attn_q.weight"] = matrix(q_rows, shape.hidden)
        weights[prefix + "attn_k.weight"] = matrix(kv_rows, shape.hidden)
        weights[prefix + "attn_v.weight"] = matrix(kv_rows, shape.hidden)
        weights[prefix + "attn_q_norm.weight"] = norm(shape.head_dim)
        weights[prefix + "attn_k_norm.weight"] = norm(shape.head_dim)
        weights[prefix + "attn_output.weight"] = matrix(shape.hidden, q_rows)
        weights[prefix + "ffn_norm.weight"] = norm(shape.hidden)
        weights[prefix + "ffn_gate.weight"] = matrix(shape.ffn, shape.hidden)
        weights[prefix + "ffn_up.weight"] = matrix(shape.ffn, shape.hidden)
        weights[prefix + "ffn_down.weight"] = matrix(shape.hidden, shape.ffn)
    weights["output_norm.weight"] = norm(shape.hidden)
    if kind not in EMBEDDING_KINDS:
        lm_head = matrix(vocab.size, shape.hidden)
        if kind == "reranker-lm":
            weights["output.weight"] = lm_head
        else:
            yes, no = vocab.id_of(YES_TOKEN), vocab.id_of(NO_TOKEN)
            weights["cls.output.weight"] = np.ascontiguousarray(lm_head[[yes, no]])
    return weights


def write_gguf(
    path: Path,
    shape: Qwen3Shape,
    weights: Weights,
    vocab: Vocabulary,
    kind: SynthKind,
    float_type: FloatType = "F32",
) -> Path:
    """Write the model the way llama.cpp's converter would for the published checkpoints."""
    arch = "qwen3"
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name(model_name(shape, kind))
    writer.add_basename("Qwen3-Embedding" if kind in EMBEDDING_KINDS else "Qwen3-Reranker")
    writer.add_size_label(shape.label)
    writer.add_file_type(int(_FLOAT_FILE_TYPES[float_type]))
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    writer.add_context_length(shape.context)
    writer.add_embedding_length(shape.hidden)
    writer.add_block_count(shape.layers)
    writer.add_feed_forward_length(shape.ffn)
    writer.add_head_count(shape.heads)
    writer.add_head_count_kv(shape.kv_heads)
    writer.add_key_length(shape.head_dim)
    writer.add_value_length(shape.head_dim)
    writer.add_rope_freq_base(ROPE_THETA)
    writer.add_layer_norm_rms_eps(RMS_EPS)
    if kind == "embedding":
        writer.add_pooling_type(gguf.PoolingType.LAST)
    elif kind == "reranker-cls":
        writer.add_pooling_type(gguf.PoolingType.RANK)
        writer.add_classifier_output_labels([YES_TOKEN, NO_TOKEN])
        writer.add_chat_template([{"name": "rerank", "template": _rerank_template()}])
    _add_vocabulary(writer, vocab)
    for name, tensor in weights.items():
        _add_tensor(writer, name, tensor, float_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _add_vocabulary(writer: gguf.GGUFWriter, vocab: Vocabulary) -> None:
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.token_types)
    writer.add_token_merges(vocab.merges)
    writer.add_eos_token_id(ENDOFTEXT_ID)
    writer.add_pad_token_id(ENDOFTEXT_ID)
    writer.add_bos_token_id(ENDOFTEXT_ID)
    writer.add_add_bos_token(False)
    # Published Qwen3-Embedding GGUFs say this too; the engine must append the EOS itself.
    writer.add_add_eos_token(False)


def _add_tensor(writer: gguf.GGUFWriter, name: str, tensor: npt.NDArray[np.float32], float_type: FloatType) -> None:
    # Norms stay F32 in every file, as llama.cpp's converter keeps 1-D tensors.
    if tensor.ndim == 1 or float_type == "F32":
        writer.add_tensor(name, tensor)
    elif float_type == "F16":
        writer.add_tensor(name, tensor.astype(np.float16))
    else:
        raw = gguf.quants.quantize(tensor, gguf.GGMLQuantizationType.BF16)
        writer.add_tensor(name, raw, raw_shape=raw.shape, raw_dtype=gguf.GGMLQuantizationType.BF16)


def _rerank_template() -> str:
    return (
        "<|im_start|>system\n" + RERANK_SYSTEM_PROMPT + "<|im_end|>\n<|im_start|>user\n"
        "<Instruct>: Given a web search query, retrieve relevant passages that answer the query\n"
        "<Query>: {query}\n<Document>: {document}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
    )


def synthesize(path: Path, shape_name: str, kind: SynthKind, float_type: FloatType = "F32", seed: int = 0) -> Path:
    shape = SHAPES[shape_name]
    vocab = qwen3_vocabulary()
    return write_gguf(path, shape, make_weights(shape, vocab, kind, seed), vocab, kind, float_type)
