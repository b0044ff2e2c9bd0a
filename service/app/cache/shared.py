"""The shared store: one Redis or Valkey for a fleet, so a vector computed by one replica is a hit
on every other replica of the same vector space.

Its failures never fail a request: a lookup or a write that errs or takes longer than the
timeout is a miss (or is dropped), the first failure is logged once, the store is left alone
for `RETRY_S`, then tried again, and the first success after a failure is logged too.
Entries get no expiry: the store's own eviction (maxmemory with allkeys-lru) bounds them.
"""

from __future__ import annotations

import asyncio
import logging
import time

import redis.asyncio
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

RETRY_S = 1.0
"""How long the store is skipped after a failure: requests meanwhile pay no timeout."""


class SharedStore:
    def __init__(self, url: str, timeout_s: float) -> None:
        self._client = redis.asyncio.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, health_check_interval=30
        )
        self._timeout_s = timeout_s
        self._skip_until = 0.0
        self._down = False
        self._errors = 0

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        if not keys or self._skipping():
            return [None] * len(keys)
        try:
            found: list[bytes | None] = await asyncio.wait_for(self._client.mget(keys), self._timeout_s)
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)
            return [None] * len(keys)
        self._answered()
        return found

    async def set_many(self, entries: dict[str, bytes]) -> None:
        if not entries or self._skipping():
            return
        try:
            await asyncio.wait_for(self._client.mset(entries), self._timeout_s)
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)
            return
        self._answered()

    @property
    def bytes_in_use(self) -> int:
        return 0

    @property
    def errors(self) -> int:
        return self._errors

    async def close(self) -> None:
        await self._client.aclose()

    def _skipping(self) -> bool:
        return self._down and time.monotonic() < self._skip_until

    def _failed(self, exc: BaseException) -> None:
        self._errors += 1
        self._skip_until = time.monotonic() + RETRY_S
        if not self._down:
            self._down = True
            log.warning(
                "shared cache unreachable (%s): inputs are computed until it answers again",
                type(exc).__name__ if isinstance(exc, TimeoutError) else exc,
            )

    def _answered(self) -> None:
        if self._down:
            self._down = False
            log.info("shared cache answers again: hits resume")


__all__ = ["RETRY_S", "SharedStore"]
