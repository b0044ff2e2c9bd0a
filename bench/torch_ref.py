"""PyTorch (transformers) on the same architecture and the same weights, when installed.

Only a reference point for what this CPU can do with the same network; never a
dependency of the service or its tests. The weights are dequantised from the GGUF file,
so the forward pass is the same size whatever the file's quantisation; random weights
make the outputs meaningless but the cost is that of the real model.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

BATCH = 8
_LAYER_NAMES = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "attn_q_norm": "self_attn.q_norm",
    "attn_k_norm": "self_attn.k_norm",
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}


def available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("torch", "transformers"))


def _hf_name(gguf_name: str) -> str:
    base = gguf_name.removesuffix(".weight")
    if base == "token_embd":
        return "embed_tokens.weight"
    if base == "output_norm":
        return "norm.weight"
    _, layer, part = base.split(".", 2)
    return f"layers.{layer}.{_LAYER_NAMES[part]}.weight"


def _field(reader: Any, key: str) -> Any:
    return reader.fields[key].contents()


def build_model(path: Path) -> Any:
    """A transformers Qwen3Model with the GGUF file's shapes and (dequantised) weights."""
    import gguf
    import torch
    from transformers import Qwen3Config, Qwen3Model

    reader = gguf.GGUFReader(path)
    arch = _field(reader, "general.architecture")
    config = Qwen3Config(
        vocab_size=int(next(t for t in reader.tensors if t.name == "token_embd.weight").shape[1]),
        hidden_size=int(_field(reader, f"{arch}.embedding_length")),
        intermediate_size=int(_field(reader, f"{arch}.feed_forward_length")),
        num_hidden_layers=int(_field(reader, f"{arch}.block_count")),
        num_attention_heads=int(_field(reader, f"{arch}.attention.head_count")),
        num_key_value_heads=int(_field(reader, f"{arch}.attention.head_count_kv")),
        head_dim=int(_field(reader, f"{arch}.attention.key_length")),
        rope_theta=float(_field(reader, f"{arch}.rope.freq_base")),
        rms_norm_eps=float(_field(reader, f"{arch}.attention.layer_norm_rms_epsilon")),
        max_position_embeddings=int(_field(reader, f"{arch}.context_length")),
    )
    model = Qwen3Model(config)
    state = {}
    for tensor in reader.tensors:
        if tensor.name.startswith("cls.") or tensor.name == "output.weight":
            continue
        values = gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        state[_hf_name(tensor.name)] = torch.from_numpy(values.reshape([int(d) for d in reversed(tensor.shape)]))
    model.load_state_dict(state, strict=True)
    return model.eval()


def run_torch(path: Path, sequences: Sequence[Sequence[int]], n_threads: int) -> dict[str, Any]:
    """tok/s of last-token embeddings in batches of BATCH, fp32 and bf16."""
    import torch

    torch.set_num_threads(n_threads)
    model = build_model(path)
    results: dict[str, Any] = {"torch": torch.__version__, "batch": BATCH, "threads": n_threads}
    for dtype_name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        model = model.to(dtype)
        batches = [
            torch.tensor([list(seq) for seq in sequences[i : i + BATCH]], dtype=torch.long)
            for i in range(0, len(sequences), BATCH)
        ]
        with torch.inference_mode():
            model(input_ids=batches[0]).last_hidden_state[:, -1]
            started = time.perf_counter()
            for ids in batches:
                model(input_ids=ids).last_hidden_state[:, -1]
            seconds = time.perf_counter() - started
        tokens = sum(len(seq) for seq in sequences)
        results[dtype_name] = {"n_tokens": tokens, "seconds": seconds, "tok_per_s": tokens / seconds}
    return results


def main() -> None:
    """`python -m bench.torch_ref FILE IDS.json`: run by an interpreter that has torch (bench.layouts
    --torch-python), which need not have this project's dependencies; prints run_torch's JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.torch_ref", description=main.__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("ids", type=Path, help="a JSON list of token-id lists, as bench.layouts writes it")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(run_torch(args.file, json.loads(args.ids.read_text()), args.threads)))


if __name__ == "__main__":
    main()
