"""Splitting a long input into chunks by tokens, each with the characters it covers, and combining
the chunks' vectors into the input's.

A chunk is a span [start, end) of the input's characters (code points, so no character is ever
cut, nor a character a reader sees as one: an accent's combining mark, an emoji's modifiers and
joined parts, a flag's two letters) whose text, tokenised alone, has at most `size` tokens: the chunk is embedded alone, so its
own tokenisation is the one that must fit, and spans are found by counting tokens of candidate
texts rather than by mapping token offsets back to characters (which a WordPiece vocabulary that
lower-cases cannot do). The end of a chunk is the furthest character that fits, moved back to the
nearest sentence end or whitespace within `REACH` of it; the next chunk starts so that its first
`overlap` tokens (at most) repeat the end of the one before (none, where that overlap would leave
it no room to reach further). Spans cover the input exactly:
the first starts at 0, the last ends at its length, each starts at or before the previous end.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from service.core.values import ChunkVector, EmbedOptions, Embedding
from service.engine.postprocess import finish

T = TypeVar("T")

REACH = 0.2
"""How far back (a share of the chunk's characters) an end may move to a sentence end or a space."""
SENTENCE_END = re.compile(r"[.!?。！？][\"')\]]*\s+|\n\s*")
SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def split(text: str, count: Callable[[str], int], size: int, overlap: int) -> list[Span]:
    """The chunks of `text`; `count` gives the tokens of a text alone. One span when it fits whole."""
    if size < 1 or not 0 <= overlap < size:
        raise ValueError(f"size {size} and overlap {overlap}: need size >= 1 and 0 <= overlap < size")
    spans: list[Span] = []
    start = 0
    while count(text[start:]) > size:
        furthest = _furthest(text, start, count, size)
        if spans and furthest <= spans[-1].end:  # the overlap left no room for more: no overlap this once
            start = spans[-1].end
            continue
        floor = spans[-1].end + 1 if spans else start + 1  # every chunk reaches past the one before
        end = _boundary(text, max(floor, furthest - max(1, int((furthest - start) * REACH))), furthest)
        if count(text[start:end]) > size:  # tokenisers are not monotone: a shorter text may take more tokens
            end = furthest
        if _cluster_start(text, end) >= floor:
            end = _cluster_start(text, end)
        elif spans and start < spans[-1].end:  # the overlap left no room for a whole character: none this once
            start = spans[-1].end
            continue  # (else one character takes more than a chunk's tokens: it is cut at a code point)
        spans.append(Span(start, end))
        start = _cluster_end(text, _next_start(text, start, end, count, overlap))
    spans.append(Span(start, len(text)))
    return spans


def _joins_previous(text: str, i: int) -> bool:
    """Whether text[i] belongs to the character before it."""
    c, before = ord(text[i]), text[i - 1]
    if unicodedata.combining(text[i]) or 0xFE00 <= c <= 0xFE0F or 0x1F3FB <= c <= 0x1F3FF or c in (0x200D, 0x20E3):
        return True  # a combining mark, a variation selector, a skin tone, a joiner, a keycap
    if before == "\u200d" or 0xE0020 <= c <= 0xE007F:
        return True  # the part after a zero-width joiner, an emoji tag
    if 0x1F1E6 <= c <= 0x1F1FF:  # a regional indicator ends a flag when an odd run of them precedes it
        run = 0
        while i - run - 1 >= 0 and 0x1F1E6 <= ord(text[i - run - 1]) <= 0x1F1FF:
            run += 1
        return run % 2 == 1
    return False


def _cluster_start(text: str, i: int) -> int:
    """`i`, or earlier when it falls inside a character a reader sees as one."""
    while 0 < i < len(text) and _joins_previous(text, i):
        i -= 1
    return i


def _cluster_end(text: str, i: int) -> int:
    """`i`, or later when it falls inside a character a reader sees as one (fewer tokens overlap)."""
    while 0 < i < len(text) and _joins_previous(text, i):
        i += 1
    return i


def _furthest(text: str, start: int, count: Callable[[str], int], size: int) -> int:
    """The largest end before the text's own whose text[start:end] fits `size` tokens (at least one character)."""
    lo, hi = start + 1, len(text) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(text[start:mid]) <= size:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _boundary(text: str, floor: int, end: int) -> int:
    """`end` moved back to just after the last sentence end, else whitespace, in text[floor:end]."""
    for pattern in (SENTENCE_END, SPACE):
        found = [m.end() for m in pattern.finditer(text, floor, end)]
        if found:
            return found[-1]
    return end


def _next_start(text: str, start: int, end: int, count: Callable[[str], int], overlap: int) -> int:
    """Where the next chunk starts: `end`, or the earliest point after `start` from which text[next:end]
    has at most `overlap` tokens, moved on to the start of a word when it falls inside one."""
    if overlap == 0:
        return end
    lo, hi = start + 1, end
    while lo < hi:
        mid = (lo + hi) // 2
        if count(text[mid:end]) <= overlap:
            hi = mid
        else:
            lo = mid + 1
    if lo < end and not text[lo - 1].isspace():
        gap = SPACE.search(text, lo, end)
        if gap is not None and gap.end() < end and count(text[gap.end() : end]) <= overlap:
            return gap.end()
    return lo


def combine(parts: Sequence[Embedding], spans: Sequence[Span], options: EmbedOptions, *, keep: bool) -> Embedding:
    """The input's vector from its chunks' full-precision vectors: their mean weighted by each chunk's
    tokens (for a mean-pooled model, the mean over every token, overlaps counted twice), then cut and
    normalised as asked; with `keep`, each chunk's vector too, cut and normalised alike."""
    weights = np.array([p.n_tokens for p in parts], dtype=np.float64)
    mean = (np.stack([p.vector for p in parts]).astype(np.float64) * weights[:, None]).sum(axis=0) / weights.sum()
    chunks = tuple(
        ChunkVector(finish(p.vector, options.dimensions, options.normalize), p.n_tokens, s.start, s.end)
        for p, s in zip(parts, spans, strict=True)
    ) if keep else ()
    vector = finish(mean.astype(np.float32), options.dimensions, options.normalize)
    return Embedding(vector, sum(p.n_tokens for p in parts), False, chunks)


def pieces(texts: Sequence[str], spans: Sequence[Sequence[Span]]) -> list[str]:
    """Every chunk's text, the texts' chunks one after another: what is computed as inputs of their own."""
    return [text[span.start : span.end] for text, each in zip(texts, spans, strict=True) for span in each]


def regroup(values: Sequence[T], spans: Sequence[Sequence[Span]]) -> Iterator[tuple[Sequence[T], Sequence[Span]]]:
    """The values computed for `pieces(texts, spans)`, handed back a text at a time with its spans."""
    at = 0
    for each in spans:
        yield values[at : at + len(each)], each
        at += len(each)
