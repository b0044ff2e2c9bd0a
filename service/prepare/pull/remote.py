"""GgufDescriptions of files still on the hub, so the router can choose before anything is downloaded.

A GGUF's header (metadata and tensor table) sits at the start of the file: a few MB
(most of it the vocabulary) for a file of hundreds of MB or more. HTTP range requests
fetch growing prefixes until the header parses; the prefix is written into a sparse
file as long as the remote one, so `describe_gguf` - the very function the server's
catalog uses - describes it, and the router's choice for the remote files is the
choice it will make again once they are local.

When a header cannot be read (a hub that ignores ranges, a header past the cap), the
file is described from a readable sibling of the same model: its shapes, with the
quant taken from the file name and the bits per weight from the file size. That
guess is flagged so the command can say so.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from httpx2 import Client, HTTPError

from router.gguf_header import GgufFormatError, read_header
from router.metadata import UnreadableGgufError, describe_gguf
from router.types import GgufDescription
from service.prepare.pull.hub import RemoteFile

log = logging.getLogger(__name__)

FIRST_RANGE = 8 * 1024**2
MAX_HEADER = 128 * 1024**2
"""Qwen3's header is about 6 MB; a header beyond this is not worth reading remotely."""
RANGE_TIMEOUT_S = 30.0
_QUANT_IN_NAME = re.compile(r"(?:^|[-_.])((?:I?Q\d(?:_[0-9A-Z]+)*)|BF16|F16|F32)(?=[-_.])", re.IGNORECASE)


@dataclass(frozen=True)
class RemoteDescription:
    file: RemoteFile
    description: GgufDescription
    """`path` is the file's name in the repository, relative: nothing is local yet."""
    inferred_from: str | None = None
    """The sibling whose header stood in for this file's own, when it could not be read."""


def describe_remote(files: Iterable[RemoteFile], session: Client, headers: dict[str, str]) -> list[RemoteDescription]:
    """Every file described: from its own header, else from a sibling's (flagged); others are dropped."""
    read: list[RemoteDescription] = []
    unread: list[RemoteFile] = []
    for file in files:
        description = _read_remote_header(file, session, headers)
        if description is None:
            unread.append(file)
        else:
            read.append(RemoteDescription(file, description))
    for file in unread:
        guess = infer_from_name(file, [r.description for r in read])
        if guess is None:
            log.warning("pull: %s: header unreadable and no readable sibling to infer it from; skipped", file.name)
        else:
            read.append(guess)
    return read


def infer_from_name(file: RemoteFile, readable: list[GgufDescription]) -> RemoteDescription | None:
    quant = quant_in_name(file.name)
    stem = _QUANT_IN_NAME.sub("", Path(file.name).stem)
    siblings = [d for d in readable if _QUANT_IN_NAME.sub("", d.path.stem) == stem] or readable
    if quant is None or not siblings:
        return None
    base = siblings[0]
    guessed = replace(
        base,
        path=Path(file.name),
        quant=quant,
        file_size=file.size,
        bits_per_weight=8.0 * file.size / max(base.n_params, 1),
    )
    return RemoteDescription(file, guessed, inferred_from=base.path.name)


def quant_in_name(name: str) -> str | None:
    match = _QUANT_IN_NAME.search(Path(name).stem + ".")
    return match.group(1).upper() if match else None


def _read_remote_header(file: RemoteFile, session: Client, headers: dict[str, str]) -> GgufDescription | None:
    length = min(FIRST_RANGE, file.size)
    with tempfile.TemporaryDirectory(prefix="embedroute-pull-") as tmp:
        local = Path(tmp) / Path(file.name).name
        while True:
            try:
                prefix = _fetch_prefix(file, length, session, headers)
            except HTTPError as exc:
                log.warning("pull: %s: range request failed (%s)", file.name, exc)
                return None
            if prefix is None:
                return None
            local.write_bytes(prefix)
            try:
                read_header(local)
            except GgufFormatError as exc:
                if length >= min(file.size, MAX_HEADER):
                    log.warning("pull: %s: no readable GGUF header in the first %d bytes (%s)", file.name, length, exc)
                    return None
                length = min(length * 2, file.size, MAX_HEADER)
                continue
            with open(local, "r+b") as handle:
                handle.truncate(file.size)  # sparse: the tensors' bytes are never fetched
            try:
                return replace(describe_gguf(local), path=Path(file.name))
            except UnreadableGgufError as exc:
                log.warning("pull: %s: %s", file.name, exc)
                return None


def _fetch_prefix(file: RemoteFile, length: int, session: Client, headers: dict[str, str]) -> bytes | None:
    """The first `length` bytes, or None when the server ignores the range (it would send the whole file)."""
    ranged = {**headers, "Range": f"bytes=0-{length - 1}"}
    with session.stream("GET", file.url, headers=ranged, timeout=RANGE_TIMEOUT_S, follow_redirects=True) as response:
        if response.status_code == 200 and length < file.size:
            return None
        response.raise_for_status()
        data = bytearray()
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) >= length:
                break
    return bytes(data[:length])
