"""int8 and packed-binary encodings of finished vectors."""

from __future__ import annotations

import numpy as np

from service.core.encoding import encode


def test_float32_is_little_endian_bytes() -> None:
    v = np.array([0.5, -0.25, 1.0], dtype=np.float32)
    assert np.frombuffer(encode(v, "float32").data, dtype="<f4").tolist() == [0.5, -0.25, 1.0]


def test_int8_is_symmetric_per_vector_with_scale() -> None:
    v = np.array([0.5, -0.25, 0.1, 0.0], dtype=np.float32)
    out = encode(v, "int8")
    q = np.frombuffer(out.data, dtype=np.int8)
    assert q.tolist() == [127, -64, 25, 0]
    assert out.scale == np.float32(0.5) / 127
    np.testing.assert_allclose(q * out.scale, v, atol=out.scale / 2 + 1e-9)


def test_ubinary_packs_sign_bits_like_sentence_transformers() -> None:
    v = np.array([0.1, -0.2, 0.3, 0.0, -0.1, 0.2, 0.2, 0.2, -1.0, 1.0], dtype=np.float32)
    data = encode(v, "ubinary").data
    assert list(data) == [0b10100111, 0b01000000]
