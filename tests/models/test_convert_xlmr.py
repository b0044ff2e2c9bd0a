"""The XLM-RoBERTa converter (BGE-M3): llama.cpp's "bert" graph with the unigram tokenizer, and the
sparse and ColBERT heads read from torch zip files without PyTorch and carried as metadata."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest
from safetensors.numpy import load_file

from router.gguf_header import read_array, read_header
from router.heads import COLBERT_BIAS, COLBERT_WEIGHT, SPARSE_BIAS, SPARSE_WEIGHT, head_bytes, outputs_of, read_head
from router.metadata import describe_gguf
from service.prepare.hf2gguf.bert import NORMALIZE_KEY, UnsupportedCheckpointError
from service.prepare.hf2gguf.torch_state import TorchStateError, load_state_dict
from service.prepare.hf2gguf.xlmr import convert_xlm_roberta
from tests.conftest import M3Models
from tests.models.m3_checkpoint import HIDDEN, LAYERS, MAX_POSITIONS, PAD_ID, heads, make_m3_checkpoint
from tests.models.torch_zip import write_state_dict


def _fields(path: Path) -> tuple[dict[str, Any], dict[str, gguf.ReaderTensor]]:
    reader = gguf.GGUFReader(str(path))
    return {name: field.contents() for name, field in reader.fields.items()}, {t.name: t for t in reader.tensors}


def test_torch_zip_state_dicts_read_without_torch(m3_models: M3Models) -> None:
    for file_name, state in heads().items():
        got = load_state_dict(m3_models.checkpoint / file_name)
        assert sorted(got) == ["bias", "weight"]
        for key, array in state.items():
            assert got[key].dtype == np.float32 and np.array_equal(got[key], array)


def test_a_pickle_naming_other_callables_is_refused(tmp_path: Path) -> None:
    evil = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00trueR."
    path = write_state_dict(tmp_path / "evil.pt", {"weight": np.zeros((1, 2), np.float32)}, pickle_override=evil)
    with pytest.raises(TorchStateError, match="os.system is not a name a state dict"):
        load_state_dict(path)
    (tmp_path / "legacy.pt").write_bytes(b"\x80\x02}q\x00.")
    with pytest.raises(TorchStateError, match="not a zip-format torch file"):
        load_state_dict(tmp_path / "legacy.pt")
    with zipfile.ZipFile(tmp_path / "two.pt", "w") as archive:
        archive.writestr("a/data.pkl", b"")
        archive.writestr("b/data.pkl", b"")
    with pytest.raises(TorchStateError, match="expected one data.pkl, found 2"):
        load_state_dict(tmp_path / "two.pt")


def test_metadata_is_llama_cpp_bert_with_unigram_vocabulary(m3_models: M3Models) -> None:
    fields, tensors = _fields(m3_models.gguf["F32"])
    assert fields["general.architecture"] == "bert"
    assert fields["tokenizer.ggml.model"] == "t5"
    assert fields["bert.pooling_type"] == int(gguf.PoolingType.CLS) and fields[NORMALIZE_KEY] is True
    offset = PAD_ID + 1
    assert fields["bert.context_length"] == MAX_POSITIONS - offset
    assert fields["bert.block_count"] == LAYERS and fields["bert.embedding_length"] == HIDDEN
    tokens, types = fields["tokenizer.ggml.tokens"], fields["tokenizer.ggml.token_type"]
    assert tokens[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert types[:4] == [int(gguf.TokenType.CONTROL)] * 3 + [int(gguf.TokenType.UNKNOWN)]
    assert sum(t != int(gguf.TokenType.NORMAL) for t in types) == 4
    special = {k: fields[f"tokenizer.ggml.{k}"] for k in (
        "bos_token_id", "eos_token_id", "unknown_token_id", "padding_token_id", "add_bos_token", "add_eos_token",
        "token_type_count", "add_space_prefix",
    )}
    assert special == {
        "bos_token_id": 0, "eos_token_id": 2, "unknown_token_id": 3, "padding_token_id": 1,
        "add_bos_token": True, "add_eos_token": True, "token_type_count": 1, "add_space_prefix": True,
    }
    # The position table starts at RoBERTa's first position; the pooler is dropped.
    weights = load_file(str(m3_models.checkpoint / "model.safetensors"))
    np.testing.assert_array_equal(
        np.asarray(tensors["position_embd.weight"].data), weights["embeddings.position_embeddings.weight"][offset:]
    )
    assert tuple(tensors["token_types.weight"].shape) == (HIDDEN, 1)
    assert len(tensors) == 5 + 16 * LAYERS


def test_heads_are_metadata_arrays(m3_models: M3Models) -> None:
    path = m3_models.gguf["F32"]
    state = heads()
    np.testing.assert_array_equal(read_array(path, SPARSE_WEIGHT), state["sparse_linear.pt"]["weight"].ravel())
    np.testing.assert_array_equal(read_array(path, SPARSE_BIAS), state["sparse_linear.pt"]["bias"])
    np.testing.assert_array_equal(read_array(path, COLBERT_WEIGHT), state["colbert_linear.pt"]["weight"].ravel())
    np.testing.assert_array_equal(read_array(path, COLBERT_BIAS), state["colbert_linear.pt"]["bias"])
    colbert = read_head(path, "colbert", HIDDEN)
    np.testing.assert_array_equal(colbert.weight, state["colbert_linear.pt"]["weight"])


@pytest.mark.parametrize("quant", ["F16", "Q8_0"])
def test_every_rung_keeps_the_heads(m3_models: M3Models, quant: str) -> None:
    """llama.cpp's quantiser copies metadata: a ladder's rungs serve the same outputs, heads unchanged."""
    path = m3_models.gguf[quant]
    assert describe_gguf(path).quant == quant
    fields = read_header(path).fields
    assert outputs_of(fields) == ("dense", "sparse", "colbert")
    assert head_bytes(fields) == 4 * (HIDDEN + 1 + HIDDEN * HIDDEN + HIDDEN)
    for key in (SPARSE_WEIGHT, SPARSE_BIAS, COLBERT_WEIGHT, COLBERT_BIAS):
        np.testing.assert_array_equal(read_array(path, key), read_array(m3_models.gguf["F32"], key))


def test_a_checkpoint_without_heads_serves_dense_only(tmp_path: Path) -> None:
    folder = make_m3_checkpoint(tmp_path / "plain", with_heads=False)
    out = convert_xlm_roberta(folder, tmp_path / "plain.gguf")
    assert outputs_of(read_header(out).fields) == ("dense",)


def test_refuses_a_head_that_is_not_a_linear(m3_models: M3Models, tmp_path: Path) -> None:
    folder = tmp_path / "bad-head"
    shutil.copytree(m3_models.checkpoint, folder)
    write_state_dict(folder / "sparse_linear.pt", {"weight": np.zeros((2, HIDDEN), np.float32), "bias": np.zeros(2, np.float32)})
    with pytest.raises(UnsupportedCheckpointError, match="one weight per token, not 2"):
        convert_xlm_roberta(folder, tmp_path / "out.gguf")
    write_state_dict(folder / "sparse_linear.pt", {"weight": np.zeros((1, HIDDEN + 1), np.float32), "bias": np.zeros(1, np.float32)})
    with pytest.raises(UnsupportedCheckpointError, match=r"not a Linear\(32, n\)"):
        convert_xlm_roberta(folder, tmp_path / "out.gguf")
    assert not (tmp_path / "out.gguf").exists()
