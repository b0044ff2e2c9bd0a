"""An independent Qwen3 forward pass in numpy (float64), the yardstick for the engine.

Written from the architecture's definition (Hugging Face's modeling_qwen3), not from
llama.cpp: RMSNorm, per-head q/k RMSNorm, rotate-half RoPE with theta 1e6, grouped-query
attention with a causal mask, SwiGLU MLP, final norm. It reads the weights straight from
an F32 GGUF file, so it shares nothing with the engine but the file.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

_QUERY_BLOCK = 512


class Qwen3Reference:
    def __init__(self, path: Path) -> None:
        reader = gguf.GGUFReader(str(path))
        fields = {name: f.contents() for name, f in reader.fields.items() if not name.startswith("tokenizer.")}
        self.n_layers = int(fields["qwen3.block_count"])
        self.n_heads = int(fields["qwen3.attention.head_count"])
        self.n_kv_heads = int(fields["qwen3.attention.head_count_kv"])
        self.head_dim = int(fields["qwen3.attention.key_length"])
        self.eps = float(fields["qwen3.attention.layer_norm_rms_epsilon"])
        self.theta = float(fields["qwen3.rope.freq_base"])
        self.w: dict[str, F64] = {}
        for tensor in reader.tensors:
            if tensor.tensor_type != gguf.GGMLQuantizationType.F32:
                raise ValueError("the reference reads F32 files only")
            self.w[tensor.name] = np.asarray(tensor.data, dtype=np.float64)

    def hidden_states(self, ids: list[int], *, last_only: bool = False) -> F64:
        """Every position's final hidden state, or (`last_only`) the last position's alone: the last
        layer then runs one query row, which is what makes a 30,000-token reference affordable."""
        x = self.w["token_embd.weight"][ids]
        for layer in range(self.n_layers):
            p = f"blk.{layer}."
            rows = 1 if last_only and layer == self.n_layers - 1 else x.shape[0]
            x = x[-rows:] + self._attention(self._rms(x, self.w[p + "attn_norm.weight"]), p, rows)
            h = self._rms(x, self.w[p + "ffn_norm.weight"])
            gate = h @ self.w[p + "ffn_gate.weight"].T
            up = h @ self.w[p + "ffn_up.weight"].T
            x = x + (gate / (1.0 + np.exp(-gate)) * up) @ self.w[p + "ffn_down.weight"].T
        return self._rms(x, self.w["output_norm.weight"])

    def embed(self, ids: list[int]) -> F64:
        """Last-token pooling, L2-normalised: what Qwen3-Embedding defines."""
        last = self.hidden_states(ids, last_only=True)[-1]
        return last / np.linalg.norm(last)

    def p_yes(self, ids: list[int], yes_id: int, no_id: int, head: F64) -> float:
        """Qwen3-Reranker's score: softmax over the yes/no logits at the last position."""
        last = self.hidden_states(ids, last_only=True)[-1]
        logits = np.array([head[yes_id] @ last, head[no_id] @ last])
        e = np.exp(logits - logits.max())
        return float(e[0] / e.sum())

    def _rms(self, x: F64, weight: F64) -> F64:
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps) * weight

    def _rope(self, x: F64, first: int = 0) -> F64:
        n, half = x.shape[0], self.head_dim // 2
        inv_freq = self.theta ** (-np.arange(half, dtype=np.float64) * 2.0 / self.head_dim)
        angles = np.arange(first, first + n, dtype=np.float64)[:, None] * inv_freq[None, :]
        cos = np.concatenate([np.cos(angles)] * 2, axis=-1)[:, None, :]
        sin = np.concatenate([np.sin(angles)] * 2, axis=-1)[:, None, :]
        rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
        return x * cos + rotated * sin

    def _attention(self, h: F64, p: str, rows: int) -> F64:
        """Causal attention of the last `rows` positions over all of them, in blocks of queries so
        that a long input never holds an n x n score matrix."""
        n = h.shape[0]
        q = (h[-rows:] @ self.w[p + "attn_q.weight"].T).reshape(rows, self.n_heads, self.head_dim)
        k = (h @ self.w[p + "attn_k.weight"].T).reshape(n, self.n_kv_heads, self.head_dim)
        v = (h @ self.w[p + "attn_v.weight"].T).reshape(n, self.n_kv_heads, self.head_dim)
        q = self._rope(self._rms(q, self.w[p + "attn_q_norm.weight"]), n - rows)
        k = self._rope(self._rms(k, self.w[p + "attn_k_norm.weight"]))
        group = self.n_heads // self.n_kv_heads
        out = np.empty_like(q)
        for start in range(0, rows, _QUERY_BLOCK):
            block = q[start : start + _QUERY_BLOCK]
            first = n - rows + start
            seen = first + block.shape[0]  # keys past the block's last position are masked anyway
            mask = np.where(np.arange(seen)[None, :] > np.arange(first, seen)[:, None], -np.inf, 0.0)
            for head in range(self.n_heads):
                kv = head // group
                scores = block[:, head] @ k[:seen, kv].T / np.sqrt(self.head_dim) + mask
                scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
                out[start : start + block.shape[0], head] = (scores / scores.sum(axis=-1, keepdims=True)) @ v[:seen, kv]
        return out.reshape(rows, -1) @ self.w[p + "attn_output.weight"].T
