"""What the vector-space id hashes, and when a recorded sha256 is trusted."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from router.metadata import describe_gguf
from service.core.space import VectorSpace, file_sha256, record_sha256, recorded_sha256, sidecar_path, weights_sha256
from service.engine.prompts import EncoderTemplate, LastTokenTemplate
from tests.conftest import SynthModels

QWEN3 = LastTokenTemplate(eos_id=151643).fingerprint


def test_every_component_moves_the_id_and_nothing_else_does(synth_models: SynthModels) -> None:
    d = describe_gguf(synth_models.embedding["Q8_0"])
    base = VectorSpace.of(d, "a" * 64, QWEN3)
    assert base.id() == VectorSpace.of(d, "a" * 64, LastTokenTemplate(eos_id=151643).fingerprint).id()
    variants = [
        base.id(normalize=False),
        VectorSpace("b" * 64, base.quant, base.pooling, base.template).id(),
        VectorSpace(base.file_sha256, "F16", base.pooling, base.template).id(),
        VectorSpace(base.file_sha256, base.quant, "mean", base.template).id(),
        VectorSpace(base.file_sha256, base.quant, base.pooling, EncoderTemplate().fingerprint).id(),
        VectorSpace(base.file_sha256, base.quant, base.pooling, LastTokenTemplate(eos_id=151645).fingerprint).id(),
    ]
    assert len({base.id(), *variants}) == 7


def test_the_id_is_the_documented_hash() -> None:
    space = VectorSpace("0" * 64, "Q8_0", "last", "t")
    text = "\n".join(["embedroute-vector-space/1", "0" * 64, "Q8_0", "last", "t", "normalize=1"])
    assert space.id() == "vs1-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def test_a_sidecar_is_trusted_only_for_its_file_and_while_newer(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + bytes(100))
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    assert recorded_sha256(model) is None
    assert weights_sha256(model) == digest == file_sha256(model)
    assert sidecar_path(model).read_text() == f"{digest}  m.gguf\n"  # `sha256sum -c` reads it
    record_sha256(model, "f" * 64)
    assert weights_sha256(model) == "f" * 64
    stat = sidecar_path(model).stat()
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the model was replaced after
    assert recorded_sha256(model) is None
    sidecar_path(model).write_text(f"{'f' * 64}  other.gguf\n")
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns - 10**9))
    assert recorded_sha256(model) is None
