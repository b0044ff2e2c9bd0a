"""Write a mixed-precision GGUF like some hub uploads: BF16 embeddings, Q8_0 blocks, labelled BF16.

The label (`general.file_type`) lies on purpose: tools must describe such a file by the
bits its tensors really take, not by its name or its declared type.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np

_SKIPPED_KEYS = ("GGUF.", "general.architecture", "general.file_type")


def write_hybrid(src_f32: Path, dst: Path) -> Path:
    reader = gguf.GGUFReader(str(src_f32))
    arch = str(reader.fields["general.architecture"].contents())
    writer = gguf.GGUFWriter(str(dst), arch)
    for name, field in reader.fields.items():
        if name.startswith(_SKIPPED_KEYS):
            continue
        sub_type = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(name, field.contents(), field.types[0], sub_type)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_BF16)
    for tensor in reader.tensors:
        data = np.asarray(tensor.data, dtype=np.float32)
        if tensor.name == "token_embd.weight":
            _add_encoded(writer, tensor.name, data, gguf.GGMLQuantizationType.BF16)
        elif tensor.name.startswith("blk.") and data.ndim == 2:
            _add_encoded(writer, tensor.name, data, gguf.GGMLQuantizationType.Q8_0)
        else:
            writer.add_tensor(tensor.name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return dst


def _add_encoded(writer: gguf.GGUFWriter, name: str, data: np.ndarray, kind: gguf.GGMLQuantizationType) -> None:
    """The writer takes encoded tensors as rows of bytes and derives the element shape itself."""
    encoded = np.ascontiguousarray(gguf.quants.quantize(data, kind)).view(np.uint8)
    writer.add_tensor(name, encoded, raw_dtype=kind)
