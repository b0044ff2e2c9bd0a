"""BGE-M3's three outputs and its scores in numpy (float64), the yardstick for the engine's.

Written from the paper (Chen et al. 2024, "BGE M3-Embedding", section 3.1) and the reference
implementation's formulas (FlagEmbedding's BGEM3FlagModel), on the numpy encoder of
bert_numpy.py, the checkpoint's own tokenizer and the heads' state dicts:
- dense: e_q = norm(H[0]), the [CLS] state;
- sparse: w_t = ReLU(W_lex^T H[i]) per token, the largest per token id, <s> </s> <pad> <unk> and
  zero weights left out; lexical score = sum over ids in both of w_q(t) * w_p(t);
- ColBERT: E = norm(W_mul^T H[1:]); score = mean over query rows of the max dot product with a
  passage row;
- hybrid: (w1 * dense + w2 * lexical + w3 * colbert) / (w1 + w2 + w3).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from service.prepare.hf2gguf.torch_state import load_state_dict
from tests.models.bert_numpy import F64, BertReference

SPECIAL_TOKENS = ("<s>", "</s>", "<pad>", "<unk>")


class M3Reference(BertReference):
    def __init__(self, model_dir: Path) -> None:
        super().__init__(model_dir)
        sparse = load_state_dict(model_dir / "sparse_linear.pt")
        colbert = load_state_dict(model_dir / "colbert_linear.pt")
        self.sparse_w, self.sparse_b = sparse["weight"].astype(np.float64), sparse["bias"].astype(np.float64)
        self.colbert_w, self.colbert_b = colbert["weight"].astype(np.float64), colbert["bias"].astype(np.float64)
        self.unused = {self.tokenizer.token_to_id(t) for t in SPECIAL_TOKENS}

    def dense(self, ids: list[int]) -> F64:
        cls = self.hidden_states(ids)[0]
        result: F64 = cls / np.linalg.norm(cls)
        return result

    def sparse(self, ids: list[int]) -> dict[int, float]:
        weights = np.maximum(self.hidden_states(ids) @ self.sparse_w.T + self.sparse_b, 0.0)[:, 0]
        out: dict[int, float] = {}
        for token, weight in zip(ids, weights):
            if token in self.unused or weight <= 0.0:
                continue
            out[token] = max(out.get(token, 0.0), float(weight))
        return out

    def colbert(self, ids: list[int]) -> F64:
        rows = self.hidden_states(ids)[1:] @ self.colbert_w.T + self.colbert_b
        result: F64 = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        return result

    @staticmethod
    def lexical_score(query: dict[int, float], passage: dict[int, float]) -> float:
        return sum(weight * passage[token] for token, weight in query.items() if token in passage)

    @staticmethod
    def colbert_score(query: F64, passage: F64) -> float:
        return float((query @ passage.T).max(axis=1).mean())

    def hybrid_score(self, query: str, passage: str, weights: tuple[float, float, float]) -> float:
        q, p = self.tokenize(query), self.tokenize(passage)
        dense = float(self.dense(q) @ self.dense(p))
        lexical = self.lexical_score(self.sparse(q), self.sparse(p))
        colbert = self.colbert_score(self.colbert(q), self.colbert(p))
        w1, w2, w3 = weights
        return (w1 * dense + w2 * lexical + w3 * colbert) / (w1 + w2 + w3)
