"""Cache keys: the vector space and the options that change a vector, then a hash of the text.

A key never holds the text (a shared store is readable by whoever runs it), and everything
that decides the full-precision vector is in it: the vector-space id (file sha256, quant,
pooling, template; `service.core.space`), the input type, the instruction, truncation and,
with tenants kept apart, the caller's key hash. What is applied per request afterwards
(the Matryoshka cut, normalisation, the output encoding) is not, so one entry serves them all.

    er1:<vector space>:<16 hex of the options>:<sha256 of the text>
"""

from __future__ import annotations

import hashlib

from service.core.space import VectorSpace
from service.core.values import EmbedOptions

PREFIX = "er1"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def embed_keys(space: VectorSpace, options: EmbedOptions, tenant: str, texts: list[str]) -> list[str]:
    """One key per text, in order; equal keys mean the same full-precision vector."""
    namespace = f"{PREFIX}:{space.id(normalize=False)}:" + _digest(
        "embed", options.input_type, "\1" if options.instruction is None else options.instruction,
        str(int(options.truncate)), tenant,
    )[:16]
    return [f"{namespace}:{_digest(text)}" for text in texts]


__all__ = ["PREFIX", "embed_keys"]
