"""Every GGUF in the models folders, described from its own metadata and grouped by model.

A file that cannot be described (truncated, corrupt, not a GGUF at all) must not stop
the server: it is logged, kept as "unreadable" for the explanation, and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from router.plan import UnreadableFile
from router.metadata import describe_gguf
from router.types import GgufDescription

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelGroup:
    """The variants (quantisations) of one model, in file-name order."""

    model_id: str
    kind: str
    variants: tuple[GgufDescription, ...]

    @property
    def folders(self) -> frozenset[Path]:
        return frozenset(v.path.parent for v in self.variants)


@dataclass(frozen=True)
class Catalog:
    models: tuple[ModelGroup, ...]
    unreadable: tuple[UnreadableFile, ...]

    def unreadable_near(self, group: ModelGroup) -> tuple[UnreadableFile, ...]:
        """Unreadable files in the folders of a model's variants: maybe one of its own."""
        return tuple(u for u in self.unreadable if u.path.parent in group.folders)


def gguf_files(models_dirs: Iterable[Path]) -> list[Path]:
    """All *.gguf below the folders (recursively), each once, in a stable order."""
    seen: dict[Path, Path] = {}
    for folder in models_dirs:
        if not folder.is_dir():
            log.warning("router: models folder %s does not exist", folder)
            continue
        for path in sorted(folder.rglob("*.gguf")):
            if path.is_file():
                seen.setdefault(path.resolve(), path)
    return list(seen.values())


def describe_all(paths: Iterable[Path]) -> tuple[list[GgufDescription], list[UnreadableFile]]:
    readable: list[GgufDescription] = []
    unreadable: list[UnreadableFile] = []
    for path in paths:
        try:
            readable.append(describe_gguf(path))
        except Exception as exc:  # any reader failure on any file: skip that file, never the server
            reason = str(exc) or type(exc).__name__
            log.warning("router: skipping unreadable GGUF %s: %s", path, reason)
            unreadable.append(UnreadableFile(path=path, reason=reason))
    return readable, unreadable


def group(descriptions: Iterable[GgufDescription]) -> tuple[ModelGroup, ...]:
    """Group by metadata identity (architecture, name, shape, kind), never by file name."""
    by_identity: dict[str, list[GgufDescription]] = {}
    for d in descriptions:
        by_identity.setdefault(d.identity, []).append(d)
    groups = [
        ModelGroup(model_id=v[0].model_id, kind=v[0].kind, variants=tuple(sorted(v, key=lambda d: d.path.name)))
        for v in by_identity.values()
    ]
    ids = [g.model_id for g in groups]
    for model_id in {i for i in ids if ids.count(i) > 1}:
        log.warning("router: several different models share the id %s; they are planned separately", model_id)
    return tuple(sorted(groups, key=lambda g: (g.kind, g.model_id)))


def build_catalog(models_dirs: Iterable[Path]) -> Catalog:
    readable, unreadable = describe_all(gguf_files(models_dirs))
    return Catalog(models=group(readable), unreadable=tuple(unreadable))
