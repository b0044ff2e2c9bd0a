"""Deterministic benchmark texts whose token counts are known exactly.

Every word is one Qwen BPE token of the form " word" (a space and 3-10 lowercase
letters), and the first word of a text is also one token without its space. The qwen2
pre-tokenizer splits text at those spaces, so a text of k such words is exactly k tokens, whatever the model file: the documents cost the same on
every quantisation and every run, and the count is checked against the model's own
tokenizer before anything is timed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from service.prepare.synth.vocab import load_qwen_ranks

DOC_TOKENS = 128
QUERY_TOKENS = 10
_WORD = re.compile(rb"^ [a-z]{3,10}$")


@dataclass(frozen=True)
class Corpus:
    documents: list[str]
    queries: list[str]
    doc_tokens: int
    query_tokens: int

    def check(self, tokenize: Callable[[str], list[int]]) -> None:
        """Fails loudly when the model's tokenizer disagrees with the intended counts."""
        for kind, texts, want in (("document", self.documents, self.doc_tokens), ("query", self.queries, self.query_tokens)):
            counts = {len(tokenize(text)) for text in texts}
            if counts != {want}:
                raise ValueError(f"{kind} token counts {sorted(counts)[:5]} differ from the intended {want}")


def word_lists() -> tuple[list[str], list[str]]:
    """(" word" tokens, words that are one token at the start of a text too), in rank order
    (frequent words first), so the lists are the same on every machine."""
    ranks = load_qwen_ranks()
    words = sorted((rank, token) for token, rank in ranks.items() if _WORD.match(token))
    inner = [token.decode("ascii") for _, token in words]
    first = [word[1:] for _, token in words if token[1:] in ranks for word in [token.decode("ascii")]]
    return inner, first


def build_corpus(n_docs: int, n_queries: int, *, seed: int = 7, doc_tokens: int = DOC_TOKENS) -> Corpus:
    inner, first = word_lists()
    rng = np.random.default_rng(seed)

    def text(n_tokens: int) -> str:
        head = first[int(rng.integers(0, len(first)))]
        return head + "".join(inner[int(i)] for i in rng.integers(0, len(inner), n_tokens - 1))

    documents = [text(doc_tokens) for _ in range(n_docs)]
    queries = [text(QUERY_TOKENS) for _ in range(n_queries)]
    return Corpus(documents, queries, doc_tokens, QUERY_TOKENS)
