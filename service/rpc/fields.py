"""The core's field names, as each gRPC method's messages spell them: the one table of the front.

Validation names fields as the core does (`inputs[3]`, `dimensions`, `documents[0]`);
a BadRequest must name them by the proto path the client set (`options.dimensions`,
and in an EmbedStream message the single `input`). A name the table lacks is the
same in both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

FieldPaths: TypeAlias = Mapping[str, str]

_EMBED_OPTIONS = {
    name: f"options.{name}"
    for name in (
        "dimensions", "encoding", "instruction", "input_type", "normalize", "truncate",
        "chunking.mode", "chunking.size", "chunking.overlap",
    )
}

EMBED: FieldPaths = _EMBED_OPTIONS
EMBED_STREAM: FieldPaths = {**_EMBED_OPTIONS, "inputs": "input", "inputs[0]": "input"}
RERANK: FieldPaths = {}
TOKENIZE: FieldPaths = {}
MODELS: FieldPaths = {}
BATCH: FieldPaths = {"limit": "page_size", "after": "page_token"}


def proto_path(paths: FieldPaths | None, field: str) -> str:
    return field if paths is None else paths.get(field, field)
