"""The vector cache in front of the engine: never compute the same vector twice.

`VectorCache` (`vectors.py`) answers each input from a store, from the same input computed
by a request in flight (or earlier in the same request), or computes it once; the stores
behind one small interface (`store.py`) are an in-process LRU with a byte budget
(`memory.py`) and a shared Redis/Valkey (`shared.py`); `keys.py` names entries by vector
space, options and a hash of the text, and `entries.py` is how a full-precision vector is kept.
It imports only the core: the application decides what is computed and how.
"""

from __future__ import annotations

from service.app.cache.entries import SCORES, VECTORS, Codec
from service.app.cache.keys import embed_keys, rerank_keys
from service.app.cache.memory import MemoryStore
from service.app.cache.shared import SharedStore
from service.app.cache.store import VectorStore, open_store
from service.app.cache.vectors import CacheStats, Resolved, VectorCache, open_cache

__all__ = [
    "SCORES", "VECTORS", "CacheStats", "Codec", "MemoryStore", "Resolved", "SharedStore", "VectorCache", "VectorStore",
    "embed_keys", "open_cache", "open_store", "rerank_keys",
]
