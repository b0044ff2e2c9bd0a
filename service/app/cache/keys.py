"""Cache keys: the vector space and the options that change a vector (or a score), then a hash of
the text.

A key never holds the text (a shared store is readable by whoever runs it), and everything
that decides the full-precision vector is in it: the vector-space id (file sha256, quant,
pooling, template; `service.core.space`), the input type, the instruction, truncation and,
with tenants kept apart, the caller's key hash. What is applied per request afterwards
(the Matryoshka cut, normalisation, the output encoding) is not, so one entry serves them all.
A rerank score's options are the query, the instruction and truncation: its text is the document.

    er1:<vector space>:<16 hex of the kind and options>:<sha256 of the text>
"""

from __future__ import annotations

import hashlib

from service.core.space import VectorSpace
from service.core.values import EmbedOptions

PREFIX = "er1"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _keys(space: VectorSpace, options: tuple[str, ...], texts: list[str]) -> list[str]:
    namespace = f"{PREFIX}:{space.id(normalize=False)}:{_digest(*options)[:16]}"
    return [f"{namespace}:{_digest(text)}" for text in texts]


def _instruction(instruction: str | None) -> str:
    return "\1" if instruction is None else instruction  # no instruction is not the empty one


def embed_keys(space: VectorSpace, options: EmbedOptions, tenant: str, texts: list[str]) -> list[str]:
    """One key per text, in order; equal keys mean the same full-precision vector."""
    kind = ("embed", options.input_type, _instruction(options.instruction), str(int(options.truncate)), tenant)
    return _keys(space, kind, texts)


def rerank_keys(
    space: VectorSpace, scoring: str, query: str, instruction: str | None, truncate: bool, tenant: str,
    documents: list[str],
) -> list[str]:
    """One key per document, in order; `scoring` (a reranker's or the cosine fallback's) is part of it."""
    return _keys(space, (f"rerank-{scoring}", query, _instruction(instruction), str(int(truncate)), tenant), documents)


__all__ = ["PREFIX", "embed_keys", "rerank_keys"]
