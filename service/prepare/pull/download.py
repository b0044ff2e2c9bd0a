"""Fetch one file into the models folder: resumable, with a progress bar, checked against the hub's hash.

The bytes go to `NAME.part` next to the target (the router only scans *.gguf, so
a half file is never planned); a later run sends `Range: bytes=N-` and continues
where the cut left off. The hash covers the bytes already on disk and the new ones,
and the file gets its real name only when it matches what the hub listed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath
from typing import Any

from httpx2 import Client
from tqdm import tqdm

from service.core.space import record_sha256
from service.prepare.pull.errors import ChecksumMismatchError, PullError
from service.prepare.pull.hub import RemoteFile

CHUNK = 1024**2
DOWNLOAD_TIMEOUT_S = 60.0
"""Per network operation (connect, each read), not for the whole file."""


def target_path(file: RemoteFile, models_dir: Path) -> Path:
    return models_dir / PurePosixPath(file.name).name


def download(file: RemoteFile, models_dir: Path, session: Client, headers: dict[str, str], progress: bool = True) -> Path:
    """The local path of `file`, fetched (or finished) and verified; an intact copy is kept as is."""
    target = target_path(file, models_dir)
    if target.exists() and target.stat().st_size == file.size and _digest_of(target, file) == file.digest:
        _record(target, file)
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    if have > file.size:
        part.unlink()
        have = 0
    if have < file.size:
        _fetch(file, part, have, session, headers, progress)
    actual = _digest_of(part, file)
    if actual != file.digest:
        part.unlink()
        raise ChecksumMismatchError(file.name, file.digest, actual)
    part.replace(target)
    _record(target, file)
    return target


def _record(target: Path, file: RemoteFile) -> None:
    """The hub's checksum, verified, is the vector-space id's file digest: recorded, the server
    does not hash the file again at start-up (service/core/space.py)."""
    if file.digest_kind == "sha256" and target.suffix == ".gguf":
        record_sha256(target, file.digest)


def _fetch(file: RemoteFile, part: Path, have: int, session: Client, headers: dict[str, str], progress: bool) -> None:
    request_headers = {**headers, "Range": f"bytes={have}-"} if have else dict(headers)
    with session.stream(
        "GET", file.url, headers=request_headers, timeout=DOWNLOAD_TIMEOUT_S, follow_redirects=True
    ) as response:
        if response.status_code == 416:
            return  # nothing left to fetch: the hash decides
        response.raise_for_status()
        if have and response.status_code != 206:
            have = 0  # the server ignored the range and sends the whole file
        bar: Any = tqdm(
            total=file.size, initial=have, unit="B", unit_scale=True, desc=PurePosixPath(file.name).name,
            disable=not progress, mininterval=1.0,
        )
        with bar, open(part, "r+b" if have else "wb") as out:
            out.seek(have)
            out.truncate()
            for chunk in response.iter_bytes(CHUNK):
                out.write(chunk)
                bar.update(len(chunk))
    if part.stat().st_size != file.size:
        raise PullError(f"{file.name}: got {part.stat().st_size} of {file.size} bytes; run again to resume")


def _digest_of(path: Path, file: RemoteFile) -> str:
    if file.digest_kind == "sha256":
        digest = hashlib.sha256()
    else:  # a git blob id: sha1 over "blob <size>\0" and the content
        digest = hashlib.sha1()
        digest.update(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
