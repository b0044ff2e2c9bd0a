"""An independent BERT sentence encoder in numpy (float64), the yardstick for converted GGUFs.

Written from the architecture's definition (Hugging Face's modeling_bert and
sentence-transformers' Pooling/Normalize), not from llama.cpp or our converter: it reads
the original safetensors under their Hugging Face names and tokenises with the
`tokenizers` library from the checkpoint's own tokenizer.json, so it shares nothing
with the engine but the checkpoint folder.

embeddings (word + position + token type, LayerNorm) -> post-LN encoder layers
(multi-head attention, exact erf GELU feed-forward) -> mean over the attention mask -> L2.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file
from tokenizers import Tokenizer

F64 = npt.NDArray[np.float64]

_erf = np.vectorize(math.erf, otypes=[np.float64])


class BertReference:
    def __init__(self, model_dir: Path) -> None:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        self.n_layers = int(config["num_hidden_layers"])
        self.n_heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        # RoBERTa numbers positions from pad_token_id + 1 (its rows before are never used).
        self.first_position = int(config["pad_token_id"]) + 1 if config["model_type"] == "xlm-roberta" else 0
        raw = load_file(str(model_dir / "model.safetensors"))
        self.w: dict[str, F64] = {
            k.removeprefix("bert.").removeprefix("roberta."): v.astype(np.float64) for k, v in raw.items()
        }
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()

    def tokenize(self, text: str) -> list[int]:
        """[CLS] text [SEP] (XLM-R: <s> text </s>), as sentence-transformers feeds the model."""
        return list(self.tokenizer.encode(text).ids)

    def hidden_states(self, ids: list[int]) -> F64:
        w = self.w
        positions = self.first_position + np.arange(len(ids))
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][positions]
            + w["embeddings.token_type_embeddings.weight"][np.zeros(len(ids), dtype=np.int64)]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        for layer in range(self.n_layers):
            p = f"encoder.layer.{layer}."
            x = self._norm(x + self._attention(x, p), p + "attention.output.LayerNorm")
            h = self._gelu(self._linear(x, p + "intermediate.dense"))
            x = self._norm(x + self._linear(h, p + "output.dense"), p + "output.LayerNorm")
        return x

    def embed(self, ids: list[int]) -> F64:
        """Mean pooling over every position (one unpadded sequence), then unit length."""
        mean = self.hidden_states(ids).mean(axis=0)
        result: F64 = mean / np.linalg.norm(mean)
        return result

    def _attention(self, x: F64, p: str) -> F64:
        n, hidden = x.shape
        head_dim = hidden // self.n_heads
        q = self._linear(x, p + "attention.self.query").reshape(n, self.n_heads, head_dim).transpose(1, 0, 2)
        k = self._linear(x, p + "attention.self.key").reshape(n, self.n_heads, head_dim).transpose(1, 0, 2)
        v = self._linear(x, p + "attention.self.value").reshape(n, self.n_heads, head_dim).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(head_dim)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(1, 0, 2).reshape(n, hidden)
        return self._linear(context, p + "attention.output.dense")

    def _linear(self, x: F64, name: str) -> F64:
        result: F64 = x @ self.w[name + ".weight"].T + self.w[name + ".bias"]
        return result

    def _norm(self, x: F64, name: str) -> F64:
        centred = x - x.mean(axis=-1, keepdims=True)
        var = (centred * centred).mean(axis=-1, keepdims=True)
        result: F64 = centred / np.sqrt(var + self.eps) * self.w[name + ".weight"] + self.w[name + ".bias"]
        return result

    @staticmethod
    def _gelu(x: F64) -> F64:
        result: F64 = 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))
        return result
