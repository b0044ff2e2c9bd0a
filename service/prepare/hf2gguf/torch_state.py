"""Read a PyTorch state dict (`torch.save` zip format) into numpy, without PyTorch.

A `.pt` file is a zip archive: `<name>/data.pkl` pickles the dict, each tensor as a call of
`torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)` whose storage is a
persistent id `("storage", <dtype>Storage, key, location, numel)`, and `<name>/data/<key>`
holds that storage's raw little-endian bytes. Unpickling runs whatever callables the file
names, so this unpickler resolves only the handful of names a state dict of plain tensors
uses and refuses every other one: a file made to run code fails here instead.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

_STORAGE_DTYPES: dict[str, npt.DTypeLike] = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "BFloat16Storage": np.uint16,  # widened to float32 below
}


class TorchStateError(ValueError):
    """Not a zip-format state dict of dense tensors."""


@dataclass(frozen=True)
class _StorageType:
    name: str


@dataclass(frozen=True)
class _Storage:
    kind: str
    key: str
    numel: int


def _rebuild_tensor(storage: _Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...], *_: Any) -> Any:
    """Stands in for torch's `_rebuild_tensor_v2`: returns what the loader needs to cut the storage."""
    return ("tensor", storage, int(offset), tuple(int(s) for s in size), tuple(int(s) for s in stride))


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) in (("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor")):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise TorchStateError(f"{module}.{name} is not a name a state dict of tensors uses; refused")

    def persistent_load(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], _StorageType)):
            raise TorchStateError(f"unexpected persistent id {pid!r}")
        return _Storage(pid[1].name, str(pid[2]), int(pid[4]))


def load_state_dict(path: Path) -> dict[str, npt.NDArray[np.float32]]:
    """Every tensor of the state dict at `path`, as float32 in its own shape."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise TorchStateError(f"{path.name}: not a zip-format torch file (legacy torch.save files are not read)") from exc
    with archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise TorchStateError(f"{path.name}: expected one data.pkl, found {len(pickles)}")
        root = pickles[0][: -len("data.pkl")]
        try:
            state = _Unpickler(io.BytesIO(archive.read(pickles[0]))).load()
        except (pickle.UnpicklingError, EOFError, TypeError) as exc:
            raise TorchStateError(f"{path.name}: {exc}") from exc
        if not isinstance(state, dict):
            raise TorchStateError(f"{path.name}: holds a {type(state).__name__}, not a state dict")
        return {str(name): _tensor(archive, root, path.name, value) for name, value in state.items()}


def _tensor(archive: zipfile.ZipFile, root: str, file_name: str, value: Any) -> npt.NDArray[np.float32]:
    if not (isinstance(value, tuple) and value[:1] == ("tensor",)):
        raise TorchStateError(f"{file_name}: a state-dict entry is not a tensor")
    _, storage, offset, size, stride = value
    dtype = np.dtype(_STORAGE_DTYPES[storage.kind])
    raw = np.frombuffer(archive.read(f"{root}data/{storage.key}"), dtype=dtype.newbyteorder("<"))
    if raw.size < storage.numel:
        raise TorchStateError(f"{file_name}: storage {storage.key} is shorter than its {storage.numel} elements")
    reach = offset + sum((n - 1) * s for n, s in zip(size, stride) if n > 0) + 1
    if offset < 0 or any(s < 0 for s in stride) or (all(size) and reach > raw.size):
        raise TorchStateError(f"{file_name}: a tensor reaches past its storage {storage.key}")
    strides = tuple(s * dtype.itemsize for s in stride)
    view = np.lib.stride_tricks.as_strided(raw[offset:], shape=size, strides=strides, writeable=False)
    if storage.kind == "BFloat16Storage":
        return (view.astype(np.uint32) << 16).view(np.float32).copy()
    return np.array(view, dtype=np.float32)
