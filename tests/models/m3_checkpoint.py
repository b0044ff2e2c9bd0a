"""A tiny BGE-M3-shaped checkpoint folder, made from a seed: XLM-RoBERTa with random weights, a small
SentencePiece-unigram vocabulary, CLS pooling + Normalize, and both heads as torch zip files.

Shaped like BAAI/bge-m3's repository: model.safetensors without a `roberta.` prefix, a pooler the
converter must drop, `pad_token_id` 1 (so positions start at row 2), one token type, tokenizer.json
with `<s> $A </s>` post-processing, sparse_linear.pt = Linear(hidden, 1) and colbert_linear.pt =
Linear(hidden, hidden).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
from safetensors.numpy import save_file
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from tests.models.torch_zip import write_state_dict

HIDDEN, LAYERS, HEADS, FFN = 32, 2, 4, 64
PAD_ID = 1
MAX_POSITIONS = 514
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
WORDS = (
    "the a of and to in is what capital china gravity force that attracts two bodies towards each other "
    "paris france city river search dense sparse vector token model query document hello world"
).split()
CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,?!'-"


def _pieces(rng: np.random.Generator) -> list[tuple[str, float]]:
    """Whole words with the word-start mark, their halves, and every single character: any text
    of these characters has a segmentation, and distinct random scores leave no ties."""
    pieces: dict[str, float] = {}
    for word in WORDS:
        pieces["\u2581" + word] = float(rng.uniform(-8.0, -4.0))
        half = len(word) // 2
        if half:
            pieces.setdefault("\u2581" + word[:half], float(rng.uniform(-10.0, -8.0)))
            pieces.setdefault(word[half:], float(rng.uniform(-10.0, -8.0)))
    pieces["\u2581"] = float(rng.uniform(-6.0, -5.0))
    for char in CHARS:
        pieces.setdefault(char, float(rng.uniform(-14.0, -12.0)))
        pieces.setdefault("\u2581" + char, float(rng.uniform(-13.0, -11.0)))
    return [(s, 0.0) for s in SPECIALS] + sorted(pieces.items())


def _tokenizer(pieces: list[tuple[str, float]]) -> Tokenizer:
    tokenizer = Tokenizer(models.Unigram(pieces, unk_id=3, byte_fallback=False))
    # What SentencePiece's remove_extra_whitespaces does (XLM-R's own tokenizer.json: a Replace too).
    tokenizer.normalizer = normalizers.Sequence([normalizers.Replace(Regex(" {2,}"), " "), normalizers.Strip()])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tokenizer.add_special_tokens(SPECIALS)
    return tokenizer


def _weights(rng: np.random.Generator, vocab: int) -> dict[str, npt.NDArray[np.float32]]:
    """Layer matrices at a trained encoder's scale (std 0.05): llama.cpp computes GELU from a table
    indexed by the input rounded to F16, so its error grows with the activations, and at std 0.2 the
    states stray from exact-erf numpy by 6e-4 (relative), 1e-3 in a sparse weight; at 0.05, 3e-5."""

    def normal(*shape: int, scale: float = 0.05) -> npt.NDArray[np.float32]:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def norm(prefix: str) -> dict[str, npt.NDArray[np.float32]]:
        return {prefix + ".weight": 1.0 + normal(HIDDEN, scale=0.1), prefix + ".bias": normal(HIDDEN, scale=0.1)}

    w = {
        "embeddings.word_embeddings.weight": normal(vocab, HIDDEN, scale=0.5),
        "embeddings.position_embeddings.weight": normal(MAX_POSITIONS, HIDDEN, scale=0.5),
        "embeddings.token_type_embeddings.weight": normal(1, HIDDEN, scale=0.5),
        "pooler.dense.weight": normal(HIDDEN, HIDDEN),
        "pooler.dense.bias": normal(HIDDEN),
        **norm("embeddings.LayerNorm"),
    }
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            w[p + name + ".weight"], w[p + name + ".bias"] = normal(HIDDEN, HIDDEN), normal(HIDDEN)
        w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"] = normal(FFN, HIDDEN), normal(FFN)
        w[p + "output.dense.weight"], w[p + "output.dense.bias"] = normal(HIDDEN, FFN), normal(HIDDEN)
        w.update(norm(p + "attention.output.LayerNorm"))
        w.update(norm(p + "output.LayerNorm"))
    return w


def heads(seed: int = 3) -> dict[str, dict[str, npt.NDArray[np.float32]]]:
    """The two heads' state dicts, as the folder's .pt files hold them."""
    rng = np.random.default_rng(seed + 1000)
    return {
        "sparse_linear.pt": {
            "weight": (rng.standard_normal((1, HIDDEN)) * 0.1).astype(np.float32),
            "bias": np.array([0.05], dtype=np.float32),
        },
        "colbert_linear.pt": {
            "weight": (rng.standard_normal((HIDDEN, HIDDEN)) * 0.3).astype(np.float32),
            "bias": (rng.standard_normal(HIDDEN) * 0.1).astype(np.float32),
        },
    }


def make_m3_checkpoint(folder: Path, seed: int = 3, with_heads: bool = True) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    pieces = _pieces(rng)
    _tokenizer(pieces).save(str(folder / "tokenizer.json"))
    (folder / "config.json").write_text(json.dumps({
        "architectures": ["XLMRobertaModel"], "model_type": "xlm-roberta", "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "intermediate_size": FFN,
        "max_position_embeddings": MAX_POSITIONS, "type_vocab_size": 1, "pad_token_id": PAD_ID,
        "bos_token_id": 0, "eos_token_id": 2, "layer_norm_eps": 1e-5, "hidden_act": "gelu",
        "position_embedding_type": "absolute", "vocab_size": len(pieces),
    }))
    (folder / "special_tokens_map.json").write_text(json.dumps({
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
        "cls_token": "<s>", "sep_token": "</s>",
    }))
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": HIDDEN, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False,
    }))
    (folder / "2_Normalize").mkdir(exist_ok=True)
    save_file(_weights(rng, len(pieces)), str(folder / "model.safetensors"))
    if with_heads:
        for file_name, state in heads(seed).items():
            write_state_dict(folder / file_name, state)
    return folder
