"""Convert a sentence-transformers XLM-RoBERTa checkpoint (BGE-M3 and kin) to a llama.cpp "bert" GGUF.

llama.cpp runs XLM-RoBERTa on its BERT graph with the SentencePiece-unigram ("t5"/UGM) tokenizer;
what differs from BERT is in the file, not the graph:
- RoBERTa numbers positions from `pad_token_id + 1` (the rows before are never used), and the
  graph from 0, so the position table loses its first `pad_token_id + 1` rows and the context
  shrinks by as many;
- one token type (`type_vocab_size` 1), added to every token as BERT's type 0 is;
- `<s> text </s>` around the text: the vocabulary's BOS and EOS, both added.

BGE-M3's two extra heads, `sparse_linear.pt` and `colbert_linear.pt` beside the checkpoint, are
PyTorch state dicts read without PyTorch (torch_state.py) and written as metadata arrays
(router/heads.py), since llama.cpp refuses tensors its graph does not use.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file

from router.heads import COLBERT_BIAS, COLBERT_WEIGHT, SPARSE_BIAS, SPARSE_WEIGHT
from service.prepare.hf2gguf.bert import (
    FILE_TYPES,
    BertConfig,
    OutType,
    UnsupportedCheckpointError,
    add_hparams,
    cast_tensor,
    read_json,
    read_modules,
)
from service.prepare.hf2gguf.torch_state import TorchStateError, load_state_dict

_DROPPED_PREFIXES = ("pooler.", "lm_head.")
_DROPPED_NAMES = ("embeddings.position_ids", "embeddings.token_type_ids")
HEAD_FILES = {"sparse": "sparse_linear.pt", "colbert": "colbert_linear.pt"}


@dataclass(frozen=True)
class XlmrConfig:
    bert: BertConfig
    position_offset: int
    """Rows of the position table before the first position (pad_token_id + 1)."""


@dataclass(frozen=True)
class UnigramVocab:
    tokens: list[str]
    scores: list[float]
    types: list[gguf.TokenType]
    special_ids: dict[str, int]
    charsmap: bytes
    add_space_prefix: bool


def convert_xlm_roberta(model_dir: Path, out_path: Path, out_type: OutType = "F32", name: str | None = None) -> Path:
    """Write `out_path` from `model_dir` (its heads too, when it has them); via a `.part` file."""
    config = read_xlmr_config(model_dir)
    modules = read_modules(model_dir)
    vocab = read_unigram_vocab(model_dir)
    tensors = xlmr_tensors(model_dir, config)
    heads = read_heads(model_dir, config.bert.hidden)
    tmp = out_path.with_name(out_path.name + ".part")
    writer = gguf.GGUFWriter(str(tmp), gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT])
    writer.add_name(name or model_dir.name)
    writer.add_file_type(FILE_TYPES[out_type])
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    add_hparams(writer, config.bert, modules)
    _add_vocab(writer, vocab, config.bert.type_vocab)
    for key, values in heads.items():
        writer.add_key_value(key, values.ravel().tolist(), gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.FLOAT32)
    for tensor_name, array in tensors.items():
        writer.add_tensor(tensor_name, cast_tensor(tensor_name, array, out_type))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(out_path)
    return out_path


def read_xlmr_config(model_dir: Path) -> XlmrConfig:
    hp = read_json(model_dir / "config.json")
    if hp.get("model_type") != "xlm-roberta":
        raise UnsupportedCheckpointError(f"{model_dir}: model_type {hp.get('model_type')!r} is not xlm-roberta")
    if hp.get("position_embedding_type", "absolute") != "absolute":
        raise UnsupportedCheckpointError(f"{model_dir}: only absolute position embeddings are supported")
    if hp.get("hidden_act", "gelu") != "gelu":
        raise UnsupportedCheckpointError(f"{model_dir}: activation {hp.get('hidden_act')!r}; llama.cpp's bert uses gelu")
    offset = int(hp.get("pad_token_id", 1)) + 1
    return XlmrConfig(
        BertConfig(
            hidden=int(hp["hidden_size"]),
            layers=int(hp["num_hidden_layers"]),
            heads=int(hp["num_attention_heads"]),
            ffn=int(hp["intermediate_size"]),
            context=int(hp["max_position_embeddings"]) - offset,
            type_vocab=int(hp.get("type_vocab_size", 1)),
            norm_eps=float(hp.get("layer_norm_eps", 1e-5)),
        ),
        offset,
    )


def read_unigram_vocab(model_dir: Path) -> UnigramVocab:
    """tokenizer.json's Unigram pieces and scores; `<unk>` UNKNOWN, the added special tokens CONTROL."""
    spec = read_json(model_dir / "tokenizer.json")
    model = spec.get("model", {})
    if model.get("type") != "Unigram":
        raise UnsupportedCheckpointError(f"{model_dir}: tokenizer is not a SentencePiece unigram")
    pieces: list[list[Any]] = model["vocab"]
    unk_id = model.get("unk_id")
    special = {int(t["id"]) for t in spec.get("added_tokens", []) if t.get("special")}
    types = [
        gguf.TokenType.UNKNOWN if i == unk_id else gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL
        for i in range(len(pieces))
    ]
    by_text = {str(piece): i for i, (piece, _) in enumerate(pieces)}
    return UnigramVocab(
        tokens=[str(piece) for piece, _ in pieces],
        scores=[float(score) for _, score in pieces],
        types=types,
        special_ids=_special_ids(model_dir, by_text),
        charsmap=_charsmap(spec.get("normalizer")),
        add_space_prefix=_prepends_space(spec.get("pre_tokenizer")),
    )


def xlmr_tensors(model_dir: Path, config: XlmrConfig) -> dict[str, npt.NDArray[np.float32]]:
    """The checkpoint's tensors under llama.cpp's names; the position table cut to the used rows."""
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, config.bert.layers)
    out: dict[str, npt.NDArray[np.float32]] = {}
    for hf_name, array in sorted(load_file(str(model_dir / "model.safetensors")).items()):
        bare = hf_name.removeprefix("roberta.")
        if bare in _DROPPED_NAMES or bare.startswith(_DROPPED_PREFIXES):
            continue
        if bare == "embeddings.position_embeddings.weight":
            array = array[config.position_offset :]
        mapped = names.get_name(bare, try_suffixes=(".weight", ".bias"))
        if mapped is None:
            raise UnsupportedCheckpointError(f"{model_dir}: tensor {hf_name} has no llama.cpp bert name")
        out[mapped] = np.ascontiguousarray(array, dtype=np.float32)
    expected = 5 + 16 * config.bert.layers
    if len(out) != expected:
        raise UnsupportedCheckpointError(f"{model_dir}: {len(out)} tensors, a {config.bert.layers}-layer model has {expected}")
    return out


def read_heads(model_dir: Path, hidden: int) -> dict[str, npt.NDArray[np.float32]]:
    """BGE-M3's sparse (Linear(hidden, 1)) and ColBERT (Linear(hidden, n)) heads, under their
    metadata keys; none for a folder without the files."""
    out: dict[str, npt.NDArray[np.float32]] = {}
    for kind, (weight_key, bias_key) in {"sparse": (SPARSE_WEIGHT, SPARSE_BIAS), "colbert": (COLBERT_WEIGHT, COLBERT_BIAS)}.items():
        path = model_dir / HEAD_FILES[kind]
        if not path.is_file():
            continue
        try:
            state = load_state_dict(path)
        except TorchStateError as exc:
            raise UnsupportedCheckpointError(str(exc)) from exc
        weight, bias = state.get("weight"), state.get("bias")
        if weight is None or bias is None or set(state) != {"weight", "bias"}:
            raise UnsupportedCheckpointError(f"{path.name}: expected a Linear's weight and bias, got {sorted(state)}")
        if weight.ndim != 2 or weight.shape[1] != hidden or bias.shape != (weight.shape[0],):
            raise UnsupportedCheckpointError(
                f"{path.name}: weight {weight.shape} and bias {bias.shape} are not a Linear({hidden}, n)"
            )
        if kind == "sparse" and weight.shape[0] != 1:
            raise UnsupportedCheckpointError(f"{path.name}: the sparse head gives one weight per token, not {weight.shape[0]}")
        out[weight_key], out[bias_key] = weight, bias
    return out


def _add_vocab(writer: gguf.GGUFWriter, vocab: UnigramVocab, type_vocab: int) -> None:
    writer.add_tokenizer_model("t5")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(vocab.tokens)
    writer.add_token_scores(vocab.scores)
    writer.add_token_types(vocab.types)
    writer.add_token_type_count(type_vocab)
    writer.add_add_space_prefix(vocab.add_space_prefix)
    writer.add_remove_extra_whitespaces(True)
    if vocab.charsmap:
        writer.add_precompiled_charsmap(vocab.charsmap)
    ids = vocab.special_ids
    writer.add_bos_token_id(ids["bos"])
    writer.add_eos_token_id(ids["eos"])
    writer.add_sep_token_id(ids["eos"])
    writer.add_unk_token_id(ids["unk"])
    writer.add_pad_token_id(ids["pad"])
    if "mask" in ids:
        writer.add_mask_token_id(ids["mask"])
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(True)


def _special_ids(model_dir: Path, vocab: dict[str, int]) -> dict[str, int]:
    declared: dict[str, Any] = {}
    for file_name in ("special_tokens_map.json", "tokenizer_config.json"):
        path = model_dir / file_name
        if path.is_file():
            declared.update(read_json(path))
    ids: dict[str, int] = {}
    for role, default in (("bos", "<s>"), ("eos", "</s>"), ("unk", "<unk>"), ("pad", "<pad>"), ("mask", "<mask>")):
        value = declared.get(f"{role}_token", default)
        text = str(value["content"]) if isinstance(value, dict) else str(value)
        if text in vocab:
            ids[role] = vocab[text]
        elif role != "mask":
            raise UnsupportedCheckpointError(f"{model_dir}: {role} token {text!r} is not in the vocabulary")
    return ids


def _charsmap(normalizer: dict[str, Any] | None) -> bytes:
    """SentencePiece's precompiled normalisation map, wherever the normalizer keeps it ("" if none)."""
    if not normalizer:
        return b""
    if normalizer.get("type") == "Precompiled":
        return base64.b64decode(normalizer.get("precompiled_charsmap") or "")
    for part in normalizer.get("normalizers", []):
        found = _charsmap(part)
        if found:
            return found
    return b""


def _prepends_space(pre_tokenizer: dict[str, Any] | None) -> bool:
    """Metaspace's `prepend_scheme` (or the older `add_prefix_space`): whether "▁" starts the text."""
    if not pre_tokenizer:
        return True
    if pre_tokenizer.get("type") == "Metaspace":
        scheme = pre_tokenizer.get("prepend_scheme")
        return scheme != "never" if scheme is not None else bool(pre_tokenizer.get("add_prefix_space", True))
    return all(_prepends_space(p) for p in pre_tokenizer.get("pretokenizers", []))
