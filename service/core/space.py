"""The vector-space id: a short name for everything that decides a model's vectors.

Two replicas may only be mixed in one vector index when they compute the same function
of the text. That function is fixed by the file's bytes (weights, quantisation, tokenizer),
the pooling, the prompt template and whether vectors are normalised; the id hashes exactly
those, so equal ids mean interchangeable vectors and different ids mean "do not mix":

    vs1-<16 hex> = sha256("embedroute-vector-space/1", file sha256, quant, pooling,
                          template fingerprint, normalize)[:16]

The output size (a Matryoshka cut) is reported beside the id, not in it: a cut is a prefix
of the same space. The file's sha256 is the expensive part (about 1 s per GB on one core),
so it is taken once and kept in a `<file>.sha256` sidecar in `sha256sum` format (a hub's
LFS checksum is the same number), trusted while it is newer than the file; the server
computes it next to loading the model, when no sidecar is there.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from router.types import GgufDescription

log = logging.getLogger(__name__)

SCHEME = "embedroute-vector-space/1"
PREFIX = "vs1-"
_CHUNK = 4 * 1024 * 1024


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def recorded_sha256(path: Path) -> str | None:
    """The sidecar's checksum when it names this file and is not older than it."""
    sidecar = sidecar_path(path)
    try:
        if sidecar.stat().st_mtime_ns < path.stat().st_mtime_ns:
            return None
        digest, _, name = sidecar.read_text(encoding="utf-8").strip().partition("  ")
    except (OSError, UnicodeDecodeError):
        return None
    if name.lstrip("*") != path.name or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        return None
    return digest


def record_sha256(path: Path, digest: str) -> bool:
    """Writes the sidecar; a read-only models volume only costs the next start the hashing."""
    try:
        sidecar_path(path).write_text(f"{digest}  {path.name}\n", encoding="utf-8")
    except OSError as exc:
        log.info("could not record %s's sha256 next to it (%s); it is hashed again at the next start", path.name, exc)
        return False
    return True


def file_sha256(path: Path) -> str:
    """The whole file's sha256; hashlib releases the GIL, so this runs beside a model loading."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def weights_sha256(path: Path) -> str:
    """The sidecar's checksum, or the file hashed now (and recorded for the next start)."""
    recorded = recorded_sha256(path)
    if recorded is not None:
        return recorded
    digest = file_sha256(path)
    record_sha256(path, digest)
    return digest


@dataclass(frozen=True)
class VectorSpace:
    """What decides one served model's vectors, but the per-request `normalize`."""

    file_sha256: str
    quant: str
    pooling: str
    template: str

    @classmethod
    def of(cls, description: GgufDescription, file_sha256: str, template: str) -> VectorSpace:
        return cls(file_sha256, description.quant, description.pooling, template)

    def id(self, normalize: bool = True) -> str:
        parts = (SCHEME, self.file_sha256, self.quant, self.pooling, self.template, f"normalize={int(normalize)}")
        return PREFIX + hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16]


__all__ = ["VectorSpace", "file_sha256", "record_sha256", "recorded_sha256", "sidecar_path", "weights_sha256"]
