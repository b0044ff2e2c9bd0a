"""The router knows BGE-M3-shaped models: what they serve, their heads' bytes and the token states
their sparse and ColBERT requests hold, in the estimate and in `embedroute route`."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

from router.estimate import FLOAT, engine_shape, estimate, token_state_bytes
from router.explain import main
from router.metadata import describe_gguf
from router.plan import RouterPrefs
from tests.conftest import M3Models, SynthModels
from tests.models.m3_checkpoint import HIDDEN


def test_description_says_what_the_file_serves(m3_models: M3Models, synth_models: SynthModels) -> None:
    d = describe_gguf(m3_models.gguf["Q8_0"])
    assert (d.model_id, d.kind, d.pooling, d.outputs) == ("tiny-bge-m3", "embedding", "cls", ("dense", "sparse", "colbert"))
    assert d.head_bytes == FLOAT * (HIDDEN + 1 + HIDDEN * HIDDEN + HIDDEN) and d.colbert_dim == HIDDEN
    plain = describe_gguf(synth_models.embedding["Q8_0"])
    assert (plain.outputs, plain.head_bytes, plain.colbert_dim) == (("dense",), 0, 0)
    assert describe_gguf(synth_models.reranker_cls["F16"]).outputs == ()


def test_estimate_counts_the_heads_and_the_token_states(m3_models: M3Models) -> None:
    d = describe_gguf(m3_models.gguf["F32"])
    prefs = RouterPrefs(n_ctx=512)
    shape = engine_shape(d, prefs)
    # An encoder: whole sequences in one decode of n_batch tokens, finished in that decode.
    assert token_state_bytes(d, shape) == shape.n_batch * (2 * HIDDEN + HIDDEN) * FLOAT
    without = dataclasses.replace(d, outputs=("dense",), head_bytes=0, colbert_dim=0)
    with_heads, plain = estimate(d, prefs), estimate(without, prefs)
    assert with_heads.ram_bytes - plain.ram_bytes == d.head_bytes + token_state_bytes(d, shape)
    assert with_heads.overhead_bytes - plain.overhead_bytes == d.head_bytes + token_state_bytes(d, shape)


def test_route_says_it_serves_dense_sparse_and_colbert(m3_models: M3Models, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    for path in m3_models.gguf.values():
        (folder / path.name).symlink_to(path)
    out = io.StringIO()
    assert main(["--models", str(folder), "--ctx", "512"], out) == 0
    assert "tiny-bge-m3 (embedding): 512 tokens per sequence, pooling: cls, outputs: dense, sparse, colbert (heads 4.3 KiB)" in out.getvalue()
    out = io.StringIO()
    assert main(["--models", str(folder), "--ctx", "512", "--json"], out) == 0
    (model,) = json.loads(out.getvalue())["models"]
    assert model["outputs"] == ["dense", "sparse", "colbert"]
