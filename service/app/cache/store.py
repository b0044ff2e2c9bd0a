"""The one interface every cache store keeps: batch get and batch set of opaque entries.

A store never raises for its own failures: a lookup that cannot be answered is a miss, and a
write that cannot be made is dropped, so a store going away costs compute, never a request.
"""

from __future__ import annotations

from typing import Protocol

from service.app.cache.memory import MemoryStore
from service.app.cache.shared import SharedStore
from service.core.config import Settings


class VectorStore(Protocol):
    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        """One entry or None per key, in order."""
        ...

    async def set_many(self, entries: dict[str, bytes]) -> None: ...

    @property
    def bytes_in_use(self) -> int:
        """What the entries take in this process (0 for a store kept elsewhere)."""
        ...

    @property
    def errors(self) -> int:
        """Lookups and writes that failed (and were answered as misses, or dropped)."""
        ...

    async def close(self) -> None: ...


def open_store(settings: Settings) -> VectorStore | None:
    """The store the settings choose; None with the cache off."""
    if settings.cache == "memory":
        return MemoryStore(settings.cache_bytes)
    if settings.cache == "shared":
        return SharedStore(settings.cache_url, settings.cache_timeout_seconds)
    return None


__all__ = ["VectorStore", "open_store"]
