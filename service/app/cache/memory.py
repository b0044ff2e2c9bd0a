"""The in-process store: an LRU bounded by bytes, not by entries, since vectors differ in size."""

from __future__ import annotations

from collections import OrderedDict

ENTRY_OVERHEAD = 160
"""Bytes an entry costs beyond its key and value: the dict slot, the two objects' headers."""


class MemoryStore:
    """Least recently used out first; an entry bigger than the whole budget is not kept."""

    def __init__(self, budget: int) -> None:
        self._budget = budget
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._used = 0

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        found: list[bytes | None] = []
        for key in keys:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            found.append(value)
        return found

    async def set_many(self, entries: dict[str, bytes]) -> None:
        for key, value in entries.items():
            size = _size(key, value)
            if size > self._budget:
                continue
            old = self._entries.pop(key, None)
            if old is not None:
                self._used -= _size(key, old)
            self._entries[key] = value
            self._used += size
            while self._used > self._budget:
                evicted, gone = self._entries.popitem(last=False)
                self._used -= _size(evicted, gone)

    @property
    def bytes_in_use(self) -> int:
        return self._used

    @property
    def errors(self) -> int:
        return 0  # nothing to fail: a dict in this process

    def __len__(self) -> int:
        return len(self._entries)

    async def close(self) -> None:
        self._entries.clear()
        self._used = 0


def _size(key: str, value: bytes) -> int:
    return len(key) + len(value) + ENTRY_OVERHEAD


__all__ = ["ENTRY_OVERHEAD", "MemoryStore"]
