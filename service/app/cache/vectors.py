"""Each distinct input computed once: from the store, from a request in flight, or by this request.

Inputs (embedding inputs, rerank documents) are named by their cache keys (`keys.py`). Within
one request an input repeated is looked up and computed once; across requests, an input being
computed by another request is waited for instead of computed again (a map of futures keyed
like the store). A waiter
never inherits another request's failure or cancellation: that request's future then says
"not there" and the waiter computes the input itself, with its own deadline and its own
error fields. Values are full-precision vectors, before any per-request post-processing, or
rerank scores; `entries.py` keeps each kind as bytes (a `Codec`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from service.app.cache.entries import Codec
from service.app.cache.store import VectorStore, open_store
from service.core.config import Settings

T = TypeVar("T")

Compute = Callable[[list[int]], Awaitable[list[T]]]
"""Computes the inputs at these positions of the request, in that order."""


@dataclass
class CacheStats:
    """Inputs by where their vector came from, since the start; read by the metrics."""

    hits: int = 0
    """From the store."""
    shared: int = 0
    """From another request in flight, or an identical input earlier in the same request."""
    misses: int = 0
    """Computed."""


@dataclass(frozen=True)
class Resolved(Generic[T]):
    values: list[T]
    """Every input's value (a full-precision vector, a score), in input order."""
    computed: frozenset[int]
    """Positions this request computed; every other input's tokens cost it nothing."""


class VectorCache:
    """A store and the inputs in flight; one per server, used on the event loop only."""

    def __init__(self, store: VectorStore) -> None:
        self.store = store
        self.stats = CacheStats()
        self._flight: dict[str, asyncio.Future[Any]] = {}
        """Keys of different kinds never meet (`keys.py`): each future's value is of its key's kind."""

    async def resolve(self, keys: list[str], compute: Compute[T], codec: Codec[T]) -> Resolved[T]:
        first: dict[str, int] = {}
        for position, key in enumerate(keys):
            first.setdefault(key, position)
        self.stats.shared += len(keys) - len(first)
        found: dict[str, T] = {}
        joined = {key: self._flight[key] for key in first if key in self._flight}
        looked_up = [key for key in first if key not in joined]
        for key, blob in zip(looked_up, await self.store.get_many(looked_up), strict=True):
            if blob is not None:
                found[key] = codec.decode(blob)
        self.stats.hits += len(found)
        missing = [key for key in looked_up if key not in found]
        joined |= {key: self._flight[key] for key in missing if key in self._flight}  # started while we looked
        self.stats.shared += len(joined)
        mine = await self._compute([key for key in missing if key not in joined], first, compute, codec)
        found |= mine
        retry = []
        for key, future in joined.items():
            value = await asyncio.shield(future)
            if value is None:
                retry.append(key)
            else:
                found[key] = value
        if retry:
            self.stats.shared -= len(retry)
            mine |= await self._compute(retry, first, compute, codec)
            found |= mine
        return Resolved([found[key] for key in keys], frozenset(first[key] for key in mine))

    async def _compute(
        self, keys: list[str], first: dict[str, int], compute: Compute[T], codec: Codec[T]
    ) -> dict[str, T]:
        """Computes `keys` once, letting requests that need them meanwhile wait, then stores them."""
        if not keys:
            return {}
        loop = asyncio.get_running_loop()
        futures: dict[str, asyncio.Future[T | None]] = {key: loop.create_future() for key in keys}
        self._flight |= futures
        try:
            values = dict(zip(keys, await compute([first[key] for key in keys]), strict=True))
            self.stats.misses += len(keys)
            for key, future in futures.items():
                future.set_result(values[key])
            await self.store.set_many({key: codec.encode(value) for key, value in values.items()})
            return values
        finally:
            for key, future in futures.items():
                if not future.done():
                    future.set_result(None)  # failed or cancelled here: its waiters compute it themselves
                if self._flight.get(key) is future:
                    del self._flight[key]

    async def close(self) -> None:
        await self.store.close()


def open_cache(settings: Settings) -> VectorCache | None:
    """The cache the settings choose; None with `cache=off` (every input computed, repeats included)."""
    store = open_store(settings)
    return VectorCache(store) if store is not None else None


__all__ = ["CacheStats", "Compute", "Resolved", "VectorCache", "open_cache"]
