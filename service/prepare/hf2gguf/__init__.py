"""Hugging Face checkpoints to GGUF without PyTorch: safetensors + numpy + the `gguf` writer.

Named `hf2gguf` (not `convert`) because `service.rpc.translate` is the proto translation module.
"""

from __future__ import annotations

from service.prepare.hf2gguf.bert import UnsupportedCheckpointError, convert_bert
from service.prepare.hf2gguf.xlmr import convert_xlm_roberta
from service.prepare.hf2gguf.default_model import DEFAULT_LADDER, DEFAULT_MODEL_NAME, prepare_default_model

__all__ = [
    "DEFAULT_LADDER",
    "DEFAULT_MODEL_NAME",
    "UnsupportedCheckpointError",
    "convert_bert",
    "convert_xlm_roberta",
    "prepare_default_model",
]
