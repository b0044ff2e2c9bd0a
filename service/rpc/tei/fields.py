"""The core's field names, as tei.v1's messages spell them (see service.rpc.fields).

TEI's messages carry one input each, and its rerank names the documents `texts`, so a
table here renames a core name with or without its index (`documents[3]` -> `texts[3]`,
an EmbedRequest's `inputs[0]` -> `inputs`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from service.rpc.fields import FieldPaths


class _Renamed(Mapping[str, str]):
    def __init__(self, names: dict[str, str], *, keep_index: bool) -> None:
        self._names = names
        self._keep_index = keep_index

    def __getitem__(self, field: str) -> str:
        base, bracket, index = field.partition("[")
        if base not in self._names:
            raise KeyError(field)
        return self._names[base] + (bracket + index if self._keep_index else "")

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


EMBED: FieldPaths = _Renamed({"inputs": "inputs"}, keep_index=False)
RERANK: FieldPaths = _Renamed({"documents": "texts"}, keep_index=True)
RERANK_STREAM: FieldPaths = _Renamed({"documents": "text"}, keep_index=False)
"""One document per message: `documents[7]` is message 7's `text`."""
TOKENIZE: FieldPaths = _Renamed({"inputs": "inputs"}, keep_index=False)
DECODE: FieldPaths = _Renamed({"inputs": "ids"}, keep_index=False)
INFO: FieldPaths = {}
