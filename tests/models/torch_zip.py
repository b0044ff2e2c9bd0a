"""Write a state dict in `torch.save`'s zip format without PyTorch, for the tests' BGE-M3 heads.

The pickle is assembled opcode by opcode (protocol 2, as torch writes it): an OrderedDict whose
values are `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)`
calls, each storage a persistent id `("storage", torch.FloatStorage, key, "cpu", numel)` whose
bytes are the archive's `<name>/data/<key>` entry.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np
import numpy.typing as npt


def _text(value: str) -> bytes:
    raw = value.encode("utf-8")
    return b"X" + struct.pack("<I", len(raw)) + raw


def _int(value: int) -> bytes:
    return b"J" + struct.pack("<i", value)


def _ints(values: tuple[int, ...]) -> bytes:
    return b"(" + b"".join(_int(v) for v in values) + b"t"


def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def state_dict_pickle(shapes: dict[str, tuple[int, ...]]) -> bytes:
    out = b"\x80\x02" + _global("collections", "OrderedDict") + b")R"
    for key, (name, shape) in enumerate(shapes.items()):
        numel = int(np.prod(shape))
        strides = tuple(int(np.prod(shape[i + 1 :])) for i in range(len(shape)))
        storage = b"(" + _text("storage") + _global("torch", "FloatStorage") + _text(str(key)) + _text("cpu") + _int(numel) + b"tQ"
        call = (
            _global("torch._utils", "_rebuild_tensor_v2")
            + b"("
            + storage
            + _int(0)
            + _ints(shape)
            + _ints(strides)
            + b"\x89"
            + _global("collections", "OrderedDict")
            + b")R"
            + b"tR"
        )
        out += _text(name) + call + b"s"
    return out + b"."


def write_state_dict(path: Path, tensors: dict[str, npt.NDArray[np.float32]], pickle_override: bytes | None = None) -> Path:
    """`tensors` as `torch.save(state_dict, path)` would write them (float32, contiguous)."""
    root = path.stem
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{root}/data.pkl", pickle_override or state_dict_pickle({k: v.shape for k, v in tensors.items()}))
        archive.writestr(f"{root}/byteorder", "little")
        for key, array in enumerate(tensors.values()):
            archive.writestr(f"{root}/data/{key}", np.ascontiguousarray(array, dtype="<f4").tobytes())
        archive.writestr(f"{root}/version", "3\n")
    return path
