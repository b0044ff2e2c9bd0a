"""Models are described from their own GGUF metadata, never from file names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from router.metadata import UnreadableGgufError, describe_gguf
from tests.conftest import SynthModels

EXPECTED_BPW = {"F32": 32.0, "F16": 16.0, "BF16": 16.0, "Q8_0": 8.5}


@pytest.mark.parametrize("quant", ["F32", "F16", "BF16", "Q8_0", "Q4_K_M", "IQ3_M", "IQ3_S"])
def test_embedding_ladder(synth_models: SynthModels, quant: str) -> None:
    d = describe_gguf(synth_models.embedding[quant])
    assert (d.architecture, d.kind, d.model_id, d.quant) == ("qwen3", "embedding", "qwen3-embedding-tiny", quant)
    assert (d.hidden_size, d.n_layers, d.n_heads, d.n_kv_heads, d.head_dim, d.ffn_size) == (256, 2, 4, 2, 64, 768)
    assert (d.vocab_size, d.context_length, d.pooling, d.has_cls_output) == (151669, 32768, "last", False)
    if quant in EXPECTED_BPW:
        # Norms stay F32 in every file; they are a negligible share of the weights.
        assert d.bits_per_weight == pytest.approx(EXPECTED_BPW[quant], rel=2e-3)
    else:
        assert 3.0 < d.bits_per_weight < 7.0


def test_ladder_shares_identity(synth_models: SynthModels) -> None:
    identities = {describe_gguf(p).identity for p in synth_models.embedding.values()}
    assert len(identities) == 1


def test_reranker_forms(synth_models: SynthModels) -> None:
    cls = describe_gguf(synth_models.reranker_cls["F16"])
    lm = describe_gguf(synth_models.reranker_lm["F16"])
    assert (cls.kind, cls.pooling, cls.has_cls_output) == ("reranker", "rank", True)
    assert (lm.kind, lm.pooling, lm.has_cls_output) == ("reranker", "none", False)
    assert cls.model_id == lm.model_id == "qwen3-reranker-tiny"


def test_file_name_is_not_trusted(synth_models: SynthModels, tmp_path: Path) -> None:
    misleading = tmp_path / "bge-reranker-Q4_0.gguf"
    shutil.copy(synth_models.embedding["Q8_0"], misleading)
    d = describe_gguf(misleading)
    assert (d.kind, d.quant, d.model_id) == ("embedding", "Q8_0", "qwen3-embedding-tiny")


def test_truncated_file_is_unreadable(synth_models: SynthModels, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(synth_models.embedding["Q8_0"].read_bytes()[:1_000_000])
    with pytest.raises(UnreadableGgufError):
        describe_gguf(broken)


def test_garbage_is_unreadable(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf at all" * 100)
    with pytest.raises(UnreadableGgufError):
        describe_gguf(junk)
