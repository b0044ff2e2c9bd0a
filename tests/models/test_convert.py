"""The converter: a sentence-transformers BERT folder becomes the GGUF llama.cpp's "bert" graph expects."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import gguf
import pytest
from safetensors.numpy import load_file

from router.metadata import describe_gguf
from service.prepare.hf2gguf.bert import NORMALIZE_KEY, UnsupportedCheckpointError, convert_bert

N_TENSORS = 5 + 16 * 6


def _fields(path: Path) -> tuple[dict[str, Any], dict[str, gguf.ReaderTensor]]:
    reader = gguf.GGUFReader(str(path))
    fields = {name: field.contents() for name, field in reader.fields.items()}
    return fields, {t.name: t for t in reader.tensors}


def test_metadata_is_llama_cpp_bert(minilm: dict[str, Path]) -> None:
    fields, tensors = _fields(minilm["F32"])
    assert fields["general.architecture"] == "bert"
    assert fields["general.name"] == "all-MiniLM-L6-v2"
    assert fields["general.file_type"] == int(gguf.LlamaFileType.ALL_F32)
    hparams = {k: fields[f"bert.{k}"] for k in (
        "context_length", "embedding_length", "feed_forward_length", "block_count", "attention.head_count",
        "attention.causal", "pooling_type",
    )}
    assert hparams == {
        "context_length": 512, "embedding_length": 384, "feed_forward_length": 1536, "block_count": 6,
        "attention.head_count": 12, "attention.causal": False, "pooling_type": int(gguf.PoolingType.MEAN),
    }
    assert fields["bert.attention.layer_norm_epsilon"] == pytest.approx(1e-12)
    assert fields[NORMALIZE_KEY] is True
    assert len(tensors) == N_TENSORS
    assert tuple(tensors["token_embd.weight"].shape) == (384, 30522)
    assert tuple(tensors["blk.5.ffn_down.weight"].shape) == (1536, 384)


def test_wordpiece_vocabulary_in_phantom_space_form(minilm: dict[str, Path]) -> None:
    fields, _ = _fields(minilm["F32"])
    tokens, types = fields["tokenizer.ggml.tokens"], fields["tokenizer.ggml.token_type"]
    assert fields["tokenizer.ggml.model"] == "bert"
    assert len(tokens) == 30522
    assert [tokens[i] for i in (0, 100, 101, 102, 103)] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert [types[i] for i in (0, 100, 101, 102, 103)] == [int(gguf.TokenType.CONTROL)] * 5
    assert tokens[1996] == "\u2581the" and types[1996] == int(gguf.TokenType.NORMAL)
    assert tokens[2075] == "ing"  # "##ing" in vocab.txt
    assert sum(t == int(gguf.TokenType.CONTROL) for t in types) == 5
    special = {k: fields[f"tokenizer.ggml.{k}"] for k in (
        "bos_token_id", "seperator_token_id", "unknown_token_id", "padding_token_id", "mask_token_id",
        "token_type_count", "add_bos_token", "add_sep_token", "normalizer.lowercase", "normalizer.strip_accents",
    )}
    assert special == {
        "bos_token_id": 101, "seperator_token_id": 102, "unknown_token_id": 100, "padding_token_id": 0,
        "mask_token_id": 103, "token_type_count": 2, "add_bos_token": True, "add_sep_token": True,
        "normalizer.lowercase": True, "normalizer.strip_accents": True,
    }


def test_f16_keeps_vectors_and_position_tables_f32(minilm: dict[str, Path]) -> None:
    fields, tensors = _fields(minilm["F16"])
    assert fields["general.file_type"] == int(gguf.LlamaFileType.MOSTLY_F16)
    f32 = sorted(n for n, t in tensors.items() if t.tensor_type == gguf.GGMLQuantizationType.F32)
    f16 = sorted(n for n, t in tensors.items() if t.tensor_type == gguf.GGMLQuantizationType.F16)
    assert len(f16) == 1 + 6 * 6  # token_embd and the six matrices of each block
    assert "position_embd.weight" in f32 and "token_types.weight" in f32
    assert all(len(tensors[n].shape) == 1 for n in f32 if n not in ("position_embd.weight", "token_types.weight"))


def test_description_the_router_sees(minilm: dict[str, Path], checkpoint: Path) -> None:
    d = describe_gguf(minilm["Q8_0"])
    assert (d.model_id, d.kind, d.pooling, d.quant, d.hidden_size, d.n_layers, d.context_length, d.vocab_size) == (
        "all-minilm-l6-v2", "embedding", "mean", "Q8_0", 384, 6, 512, 30522
    )
    assert d.identity == describe_gguf(minilm["F32"]).identity
    # Every checkpoint weight but the unused pooler head and the position-id buffer.
    weights = load_file(str(checkpoint / "model.safetensors"))
    kept = sum(a.size for n, a in weights.items() if not n.startswith(("pooler.", "embeddings.position_ids")))
    assert d.n_params == kept == 22_565_376


def _copy_checkpoint(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("model.safetensors"))
    (dst / "model.safetensors").symlink_to(src / "model.safetensors")
    return dst


def test_refuses_pooling_llama_cpp_cannot_do(checkpoint: Path, tmp_path: Path) -> None:
    folder = _copy_checkpoint(checkpoint, tmp_path / "max-pooled")
    pooling = folder / "1_Pooling" / "config.json"
    settings = json.loads(pooling.read_text())
    settings.update(pooling_mode_mean_tokens=False, pooling_mode_max_tokens=True)
    pooling.write_text(json.dumps(settings))
    with pytest.raises(UnsupportedCheckpointError, match="not mean or cls"):
        convert_bert(folder, tmp_path / "out.gguf")
    assert not (tmp_path / "out.gguf").exists()


def test_refuses_a_dense_head(checkpoint: Path, tmp_path: Path) -> None:
    folder = _copy_checkpoint(checkpoint, tmp_path / "dense")
    modules = json.loads((folder / "modules.json").read_text())
    modules.insert(2, {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (folder / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(UnsupportedCheckpointError, match=r"\['Dense'\]"):
        convert_bert(folder, tmp_path / "out.gguf")


def test_cls_pooling_is_carried(checkpoint: Path, tmp_path: Path) -> None:
    folder = _copy_checkpoint(checkpoint, tmp_path / "cls")
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    )
    out = convert_bert(folder, tmp_path / "cls.gguf", "F16", "cls-variant")
    assert describe_gguf(out).pooling == "cls"
