"""Turn user text into the exact token sequences each model family was trained on.

This is where embedding servers most often go silently wrong, so every rule lives
here, in one place:
- Qwen3-Embedding: queries are `Instruct: {task}\\nQuery:{query}`, documents are bare,
  and every input ends with `<|endoftext|>` (GGUFs usually do not add it themselves).
- Qwen3-Reranker: a chat prompt with a system judge, the instruction, query and
  document, and an assistant turn opened with an empty think block.
- BERT family: `[CLS] text [SEP]`, from the tokenizer's own special tokens.
User text is always tokenised with special-token parsing off, so a document cannot
inject `<|im_end|>` and close the prompt early. Qwen's tokenizer NFC-normalises text
first and llama.cpp's does not, so the Qwen templates normalise it here.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from typing import Protocol

from service.core.values import EmbedOptions, PreparedInput
from service.core.errors import InputTooLongError, QueryTooLongError

DEFAULT_TASK = "Given a web search query, retrieve relevant passages that answer the query"

RERANK_SYSTEM = (
    'Judge whether the Document meets the requirements based on the Query and the Instruct provided. '
    'Note that the answer can only be "yes" or "no".'
)
RERANK_PREFIX = f"<|im_start|>system\n{RERANK_SYSTEM}<|im_end|>\n<|im_start|>user\n"
RERANK_SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"


class Tokenizer(Protocol):
    def tokenize(self, text: str, *, special: bool, add_special: bool = False) -> list[int]: ...


def format_query(task: str | None, query: str) -> str:
    return f"Instruct: {task or DEFAULT_TASK}\nQuery:{query}"


def format_rerank_pair(instruction: str | None, query: str, document: str) -> str:
    return f"<Instruct>: {instruction or DEFAULT_TASK}\n<Query>: {query}\n<Document>: {document}"


@dataclass(frozen=True)
class LastTokenTemplate:
    """Qwen3-Embedding and other last-token-pooled decoders: text, then the end-of-text token."""

    eos_id: int

    @property
    def fingerprint(self) -> str:
        """Every rule that shapes the tokens, for the vector-space id (service/core/space.py)."""
        return f"last-token|nfc|query={format_query('{task}', '{text}')}|task={DEFAULT_TASK}|eos={self.eos_id}"

    def prepare(self, tok: Tokenizer, text: str, options: EmbedOptions, n_ctx: int) -> PreparedInput:
        query = options.input_type == "query"
        body = format_query(options.instruction, text) if query else text
        tokens = tok.tokenize(unicodedata.normalize("NFC", body), special=False)
        # The template comes first, so cutting the end only ever cuts user text.
        fitted = _fit(tokens, [], [self.eos_id], n_ctx, options.truncate, n_user=len(tokens))
        if not query:
            return fitted
        # "Query" ends a pre-tokenizer chunk whatever follows, so every query of one
        # instruction starts with these tokens; the common prefix is checked all the same.
        head = tok.tokenize(unicodedata.normalize("NFC", format_query(options.instruction, "")[:-1]), special=False)
        return replace(fitted, n_shared=_common(head, fitted.tokens))


@dataclass(frozen=True)
class EncoderTemplate:
    """BERT family: the tokenizer adds [CLS]/[SEP]. These models were trained without
    instructions (all-MiniLM-L6-v2 declares no prompts), and prefixing one only moves
    the query away from its documents, so queries and documents are encoded alike."""

    @property
    def fingerprint(self) -> str:
        return "encoder|tokenizer-specials|no-instruction"

    def prepare(self, tok: Tokenizer, text: str, options: EmbedOptions, n_ctx: int) -> PreparedInput:
        tokens = tok.tokenize(text, special=False, add_special=True)
        if len(tokens) >= 2:
            return _fit(tokens[1:-1], tokens[:1], tokens[-1:], n_ctx, options.truncate, n_user=len(tokens) - 2)
        return _fit(tokens, [], [], n_ctx, options.truncate, n_user=len(tokens))


@dataclass(frozen=True)
class Qwen3RerankTemplate:
    def prepare(
        self, tok: Tokenizer, query: str, document: str, instruction: str | None, n_ctx: int, truncate: bool
    ) -> PreparedInput:
        prefix = tok.tokenize(RERANK_PREFIX, special=True)
        suffix = tok.tokenize(RERANK_SUFFIX, special=True)
        pair = format_rerank_pair(instruction, query, document)
        body = tok.tokenize(unicodedata.normalize("NFC", pair), special=False)
        # Everything before the document is the same for every document of the request.
        head = prefix + tok.tokenize(unicodedata.normalize("NFC", format_rerank_pair(instruction, query, "")[:-1]), special=False)
        room = n_ctx - len(head) - len(suffix)
        if room < min(MIN_DOCUMENT_TOKENS, max(1, len(prefix) + len(body) - len(head))):
            raise QueryTooLongError(len(head) + len(suffix), n_ctx, room)
        fitted = _fit(body, prefix, suffix, n_ctx, truncate, n_user=len(body))
        return replace(fitted, n_shared=_common(head, fitted.tokens))


MIN_DOCUMENT_TOKENS = 16
"""A query must leave a rerank prompt room for this much of each document (or all of a shorter one)."""


def _common(head: list[int], tokens: list[int]) -> int:
    """How many leading tokens of `tokens` are `head`'s: tokenised alone, a template's head may
    end differently than inside the whole prompt, and only what is identical may be shared."""
    n = 0
    for a, b in zip(head, tokens):
        if a != b:
            break
        n += 1
    return n


def _fit(
    body: list[int], head: list[int], tail: list[int], n_ctx: int, truncate: bool, n_user: int
) -> PreparedInput:
    total = len(head) + len(body) + len(tail)
    if total <= n_ctx:
        return PreparedInput(tokens=head + body + tail, n_user_tokens=n_user, truncated=False, full_length=total)
    room = n_ctx - len(head) - len(tail)
    if not truncate or room <= 0:
        raise InputTooLongError(total, n_ctx)
    return PreparedInput(tokens=head + body[:room] + tail, n_user_tokens=n_user, truncated=True, full_length=total)
