"""Convert a sentence-transformers BERT checkpoint folder to a llama.cpp "bert" GGUF.

Only what llama.cpp's BERT graph computes is accepted: absolute positions, exact GELU,
post-LayerNorm blocks, then mean or CLS pooling. Anything else (a Dense head after
pooling, max pooling, rotary BERT variants) is refused rather than converted into a
file that loads but embeds wrongly.

The WordPiece vocabulary is rewritten the way llama.cpp's WPM tokenizer looks tokens
up: a word-initial piece carries a leading U+2581 ("phantom space"), a continuation
piece loses its "##", and special tokens stay as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import gguf
import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file

OutType = Literal["F32", "F16"]
PHANTOM_SPACE = "\u2581"

FILE_TYPES: dict[OutType, gguf.LlamaFileType] = {
    "F32": gguf.LlamaFileType.ALL_F32,
    "F16": gguf.LlamaFileType.MOSTLY_F16,
}
# llama.cpp's quantizer never touches these, so they stay F32 in every rung of a ladder.
_ALWAYS_F32 = ("position_embd.weight", "token_types.weight")
# Heads a sentence-embedding model does not use (MLM / NSP / pooler).
_DROPPED_PREFIXES = ("pooler.", "cls.predictions", "cls.seq_relationship")
_DROPPED_NAMES = ("embeddings.position_ids",)
_POOLING_KEYS: dict[str, gguf.PoolingType] = {
    "pooling_mode_mean_tokens": gguf.PoolingType.MEAN,
    "pooling_mode_cls_token": gguf.PoolingType.CLS,
}
_UNSUPPORTED_POOLING = ("pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens")
NORMALIZE_KEY = "embedroute.normalize"
"""Whether the checkpoint's module list ends in Normalize: llama.cpp has no key for it."""


class UnsupportedCheckpointError(ValueError):
    """The folder is not a BERT checkpoint that llama.cpp's "bert" graph reproduces."""


@dataclass(frozen=True)
class BertConfig:
    hidden: int
    layers: int
    heads: int
    ffn: int
    context: int
    type_vocab: int
    norm_eps: float


@dataclass(frozen=True)
class SentenceModules:
    pooling: gguf.PoolingType
    normalize: bool


@dataclass(frozen=True)
class WordPieceVocab:
    tokens: list[str]
    types: list[gguf.TokenType]
    special_ids: dict[str, int]
    lowercase: bool
    strip_accents: bool


def convert_bert(model_dir: Path, out_path: Path, out_type: OutType = "F32", name: str | None = None) -> Path:
    """Write `out_path` from `model_dir`; written to a `.part` file first so a crash leaves no half GGUF."""
    config = read_config(model_dir)
    modules = read_modules(model_dir)
    vocab = read_vocab(model_dir)
    tensors = gguf_tensors(model_dir, config)
    tmp = out_path.with_name(out_path.name + ".part")
    writer = gguf.GGUFWriter(str(tmp), gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT])
    writer.add_name(name or model_dir.name)
    writer.add_file_type(FILE_TYPES[out_type])
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    add_hparams(writer, config, modules)
    _add_vocab(writer, vocab, config.type_vocab)
    for tensor_name, array in tensors.items():
        writer.add_tensor(tensor_name, cast_tensor(tensor_name, array, out_type))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(out_path)
    return out_path


def read_config(model_dir: Path) -> BertConfig:
    hp = read_json(model_dir / "config.json")
    if hp.get("model_type") != "bert":
        raise UnsupportedCheckpointError(f"{model_dir}: model_type {hp.get('model_type')!r} is not bert")
    if hp.get("position_embedding_type", "absolute") != "absolute":
        raise UnsupportedCheckpointError(f"{model_dir}: only absolute position embeddings are supported")
    if hp.get("hidden_act", "gelu") != "gelu":
        raise UnsupportedCheckpointError(f"{model_dir}: activation {hp.get('hidden_act')!r}; llama.cpp's bert uses gelu")
    return BertConfig(
        hidden=int(hp["hidden_size"]),
        layers=int(hp["num_hidden_layers"]),
        heads=int(hp["num_attention_heads"]),
        ffn=int(hp["intermediate_size"]),
        context=int(hp["max_position_embeddings"]),
        type_vocab=int(hp.get("type_vocab_size", 2)),
        norm_eps=float(hp.get("layer_norm_eps", 1e-12)),
    )


def read_modules(model_dir: Path) -> SentenceModules:
    """Pooling and normalisation from sentence-transformers' modules.json and 1_Pooling/config.json."""
    modules_file = model_dir / "modules.json"
    if not modules_file.is_file():
        raise UnsupportedCheckpointError(f"{model_dir}: no modules.json; not a sentence-transformers model")
    modules: list[dict[str, Any]] = json.loads(modules_file.read_text(encoding="utf-8"))
    kinds = [str(m["type"]).rsplit(".", 1)[-1] for m in modules]
    unknown = [k for k in kinds if k not in ("Transformer", "Pooling", "Normalize")]
    if unknown:
        raise UnsupportedCheckpointError(f"{model_dir}: modules {unknown} have no llama.cpp equivalent")
    if "Pooling" not in kinds:
        raise UnsupportedCheckpointError(f"{model_dir}: no Pooling module")
    pooling_dir = model_dir / str(modules[kinds.index("Pooling")]["path"])
    settings = read_json(pooling_dir / "config.json")
    if any(settings.get(key) for key in _UNSUPPORTED_POOLING):
        raise UnsupportedCheckpointError(f"{model_dir}: pooling {settings} is not mean or cls")
    chosen = [pooling for key, pooling in _POOLING_KEYS.items() if settings.get(key)]
    if len(chosen) != 1:
        raise UnsupportedCheckpointError(f"{model_dir}: expected exactly one of mean/cls pooling, got {settings}")
    return SentenceModules(pooling=chosen[0], normalize="Normalize" in kinds)


def read_vocab(model_dir: Path) -> WordPieceVocab:
    spec = read_json(model_dir / "tokenizer.json")
    model = spec.get("model", {})
    if model.get("type") != "WordPiece" or model.get("continuing_subword_prefix", "##") != "##":
        raise UnsupportedCheckpointError(f"{model_dir}: tokenizer is not a ## WordPiece")
    by_id = {int(i): str(t) for t, i in model["vocab"].items()}
    if sorted(by_id) != list(range(len(by_id))):
        raise UnsupportedCheckpointError(f"{model_dir}: vocabulary ids are not contiguous")
    special = {str(t["content"]) for t in spec.get("added_tokens", []) if t.get("special")}
    tokens: list[str] = []
    types: list[gguf.TokenType] = []
    for i in range(len(by_id)):
        text = by_id[i]
        if text in special:
            tokens.append(text)
            types.append(gguf.TokenType.CONTROL)
        else:
            tokens.append(text[2:] if text.startswith("##") else PHANTOM_SPACE + text)
            types.append(gguf.TokenType.NORMAL)
    normalizer = spec.get("normalizer") or {}
    lowercase = bool(normalizer.get("lowercase", False))
    strip = normalizer.get("strip_accents")
    return WordPieceVocab(
        tokens=tokens,
        types=types,
        special_ids=_special_ids(model_dir, model["vocab"]),
        lowercase=lowercase,
        # HF's BertNormalizer strips accents when lowercasing unless told otherwise.
        strip_accents=lowercase if strip is None else bool(strip),
    )


def gguf_tensors(model_dir: Path, config: BertConfig) -> dict[str, npt.NDArray[np.float32]]:
    """The checkpoint's tensors under llama.cpp's names, F32, in [out, in] order (ggml reverses it)."""
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, config.layers)
    out: dict[str, npt.NDArray[np.float32]] = {}
    for hf_name, array in sorted(load_file(str(model_dir / "model.safetensors")).items()):
        bare = hf_name.removeprefix("bert.")
        if bare in _DROPPED_NAMES or bare.startswith(_DROPPED_PREFIXES):
            continue
        mapped = names.get_name(bare, try_suffixes=(".weight", ".bias"))
        if mapped is None:
            raise UnsupportedCheckpointError(f"{model_dir}: tensor {hf_name} has no llama.cpp bert name")
        out[mapped] = np.ascontiguousarray(array, dtype=np.float32)
    expected = 5 + 16 * config.layers
    if len(out) != expected:
        raise UnsupportedCheckpointError(f"{model_dir}: {len(out)} tensors, a {config.layers}-layer BERT has {expected}")
    return out


def add_hparams(writer: gguf.GGUFWriter, config: BertConfig, modules: SentenceModules) -> None:
    writer.add_context_length(config.context)
    writer.add_embedding_length(config.hidden)
    writer.add_feed_forward_length(config.ffn)
    writer.add_block_count(config.layers)
    writer.add_head_count(config.heads)
    writer.add_layer_norm_eps(config.norm_eps)
    writer.add_causal_attention(False)
    writer.add_pooling_type(modules.pooling)
    writer.add_bool(NORMALIZE_KEY, modules.normalize)


def _add_vocab(writer: gguf.GGUFWriter, vocab: WordPieceVocab, type_vocab: int) -> None:
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.types)
    writer.add_token_type_count(type_vocab)
    writer.add_bool("tokenizer.ggml.normalizer.lowercase", vocab.lowercase)
    writer.add_bool("tokenizer.ggml.normalizer.strip_accents", vocab.strip_accents)
    ids = vocab.special_ids
    # [CLS] is llama.cpp's BOS for WPM: `add_special` tokenisation yields [CLS] text [SEP].
    writer.add_bos_token_id(ids["cls"])
    writer.add_sep_token_id(ids["sep"])
    writer.add_unk_token_id(ids["unk"])
    writer.add_pad_token_id(ids["pad"])
    writer.add_mask_token_id(ids["mask"])
    writer.add_add_bos_token(True)
    writer.add_add_sep_token(True)
    writer.add_add_eos_token(False)


def _special_ids(model_dir: Path, vocab: dict[str, int]) -> dict[str, int]:
    declared: dict[str, Any] = {}
    for file_name in ("special_tokens_map.json", "tokenizer_config.json"):
        path = model_dir / file_name
        if path.is_file():
            declared.update(read_json(path))
    ids: dict[str, int] = {}
    for role, default in (("cls", "[CLS]"), ("sep", "[SEP]"), ("unk", "[UNK]"), ("pad", "[PAD]"), ("mask", "[MASK]")):
        value = declared.get(f"{role}_token", default)
        text = str(value["content"]) if isinstance(value, dict) else str(value)
        if text not in vocab:
            raise UnsupportedCheckpointError(f"{model_dir}: {role} token {text!r} is not in the vocabulary")
        ids[role] = int(vocab[text])
    return ids


def cast_tensor(name: str, array: npt.NDArray[np.float32], out_type: OutType) -> npt.NDArray[np.float32] | npt.NDArray[np.float16]:
    # llama.cpp keeps vectors (norms, biases) in F32 whatever the file type.
    if out_type == "F32" or array.ndim < 2 or name in _ALWAYS_F32:
        return array
    return array.astype(np.float16)


def read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UnsupportedCheckpointError(f"{path.parent}: missing {path.name}")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
