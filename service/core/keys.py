"""Bearer API keys: the configured set, and the one constant-time check every front uses.

Keys come from `api_keys_file` and `api_keys` together; a front asks `KeyRing.allows`
with the token of the caller's `authorization: Bearer KEY` and answers its own
transport's "unauthenticated" when it says no. Each front's bookkeeping also records who
calls (`adopt_tenant`), so that the application's vector cache can keep tenants apart.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
from pathlib import Path

from service.core.config import Settings


def read_api_keys(path: Path) -> frozenset[str]:
    """One key per line; blank lines and `#` comments are skipped."""
    keys = frozenset(
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )
    if not keys:
        raise ValueError(f"{path}: no API keys in the file; remove api_keys_file to serve without keys")
    return keys


def api_keys(settings: Settings) -> frozenset[str] | None:
    """The keys from the file and the environment together; None when neither is configured."""
    keys = set(settings.api_keys)
    if settings.api_keys_file is not None:
        keys |= read_api_keys(settings.api_keys_file)
    return frozenset(keys) if keys else None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


tenant: contextvars.ContextVar[str] = contextvars.ContextVar("tenant", default="")
"""Who the call being handled is: a hash of its bearer token ("" without one); set per call's task."""


def adopt_tenant(authorization: str) -> str:
    """Records the caller of this call's task by its key's hash, never the key itself."""
    scheme, _, token = authorization.partition(" ")
    who = _digest(token).hex()[:32] if scheme.lower() == "bearer" and token else ""
    tenant.set(who)
    return who


class KeyRing:
    def __init__(self, keys: frozenset[str]) -> None:
        self._digests = [_digest(key) for key in keys]

    def allows(self, authorization: str) -> bool:
        """Whether an `authorization` header value is `Bearer KEY` with a known key."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        # Equal-length digests, every key compared: the time taken says neither how long a key
        # is, nor how much of it matched, nor which key it was.
        offered = _digest(token)
        matched = False
        for digest in self._digests:
            matched |= hmac.compare_digest(offered, digest)
        return matched


__all__ = ["KeyRing", "adopt_tenant", "api_keys", "read_api_keys", "tenant"]
