"""A fast reader for a GGUF file's header: its key-value metadata and tensor table.

`gguf.GGUFReader` builds a numpy view for every element of every array, which takes
over ten seconds for a 151k-token vocabulary; the router reads every candidate file
at start-up. This reader walks the same format with `struct` and skips large arrays,
keeping only their length, so describing a file takes milliseconds.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType
from gguf.quants import dequantize

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
SMALL_ARRAY = 64
"""Arrays up to this length are decoded (labels, templates); longer ones keep only their length."""

_SCALARS: dict[int, str] = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    n_elements: int
    n_bytes: int
    offset: int
    """Absolute offset of the tensor's data in the file."""


@dataclass(frozen=True)
class SkippedArray:
    length: int
    kind: int = field(default=-1, compare=False)
    """The elements' GGUF value type."""
    offset: int = field(default=-1, compare=False)
    """Where the elements start in the file (`read_array` reads them from there)."""


@dataclass(frozen=True)
class GgufHeader:
    fields: dict[str, Any]
    tensors: list[TensorInfo]

    @property
    def data_end(self) -> int:
        return max((t.offset + t.n_bytes for t in self.tensors), default=0)


class GgufFormatError(ValueError):
    pass


class _Cursor:
    def __init__(self, buf: mmap.mmap) -> None:
        self.buf = buf
        self.pos = 0

    def unpack(self, fmt: str) -> Any:
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.buf):
            raise GgufFormatError("header runs past the end of the file")
        (value,) = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += size
        return value

    def string(self) -> str:
        length = self.unpack("Q")
        if self.pos + length > len(self.buf):
            raise GgufFormatError("string runs past the end of the file")
        raw = self.buf[self.pos : self.pos + length]
        self.pos += length
        return raw.decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        length = self.unpack("Q")
        self.pos += length

    def value(self, kind: int) -> Any:
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            return self.array()
        raise GgufFormatError(f"unknown value type {kind}")

    def array(self) -> list[Any] | SkippedArray:
        kind = self.unpack("I")
        length = self.unpack("Q")
        if length <= SMALL_ARRAY:
            return [self.value(kind) for _ in range(length)]
        start = self.pos
        if kind in _SCALARS:
            self.pos += length * struct.calcsize("<" + _SCALARS[kind])
        elif kind == _STRING:
            for _ in range(length):
                self.skip_string()
        else:
            for _ in range(length):
                self.value(kind)
        return SkippedArray(length, kind, start)


def read_header(path: Path) -> GgufHeader:
    with open(path, "rb") as handle:
        try:
            buf = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError as exc:  # empty file
            raise GgufFormatError("empty file") from exc
    with buf:
        if buf[:4] != GGUF_MAGIC:
            raise GgufFormatError("no GGUF magic")
        cur = _Cursor(buf)
        cur.pos = 4
        version = cur.unpack("I")
        if version < 2:
            raise GgufFormatError(f"GGUF version {version} is too old")
        n_tensors, n_fields = cur.unpack("Q"), cur.unpack("Q")
        fields = {}
        for _ in range(n_fields):
            key = cur.string()
            fields[key] = cur.value(cur.unpack("I"))
        raw_tensors = []
        for _ in range(n_tensors):
            name = cur.string()
            n_dims = cur.unpack("I")
            shape = tuple(cur.unpack("Q") for _ in range(n_dims))
            raw_tensors.append((name, shape, cur.unpack("I"), cur.unpack("Q")))
        alignment = int(fields.get("general.alignment", DEFAULT_ALIGNMENT))
        data_start = -(-cur.pos // alignment) * alignment
    return GgufHeader(fields, [_tensor(name, shape, kind, data_start + off) for name, shape, kind, off in raw_tensors])


def read_tensor(path: Path, name: str) -> npt.NDArray[np.float32]:
    """One tensor as float32 in numpy (row-major, outermost GGUF dimension first)."""
    header = read_header(path)
    info = next((t for t in header.tensors if t.name == name), None)
    if info is None:
        raise GgufFormatError(f"no tensor {name}")
    with open(path, "rb") as handle:
        handle.seek(info.offset)
        raw = np.frombuffer(handle.read(info.n_bytes), dtype=np.uint8)
    values = dequantize(raw, GGMLQuantizationType(info.ggml_type))
    return np.asarray(values, dtype=np.float32).reshape(tuple(reversed(info.shape)))


def read_array(path: Path, key: str) -> npt.NDArray[np.float32]:
    """A numeric metadata array whole, as float32 (a header read skips long ones); KeyError when absent."""
    value = read_header(path).fields[key]
    if isinstance(value, list):
        return np.asarray(value, dtype=np.float32)
    if not isinstance(value, SkippedArray) or value.kind not in _SCALARS or value.kind == 7:
        raise GgufFormatError(f"{key} is not a numeric array")
    dtype = np.dtype("<" + _SCALARS[value.kind])
    with open(path, "rb") as handle:
        handle.seek(value.offset)
        raw = np.frombuffer(handle.read(value.length * dtype.itemsize), dtype=dtype)
    if raw.size != value.length:
        raise GgufFormatError(f"{key} runs past the end of the file")
    return raw.astype(np.float32)


def _tensor(name: str, shape: tuple[int, ...], kind: int, offset: int) -> TensorInfo:
    n_elements = 1
    for dim in shape:
        n_elements *= dim
    try:
        block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(kind)]
    except (ValueError, KeyError) as exc:
        raise GgufFormatError(f"tensor {name} has unknown type {kind}") from exc
    return TensorInfo(name, shape, kind, n_elements, n_elements // block * type_size, offset)
