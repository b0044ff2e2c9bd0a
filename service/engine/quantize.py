"""Quantise a GGUF with llama.cpp's own quantizer, so our ladders match what hubs publish."""

from __future__ import annotations

import ctypes
from pathlib import Path

import llama_cpp

from service.engine.llama_backend import ensure_backend
from service.core.errors import InvalidArgumentError

# Types that llama.cpp quantises without an importance matrix (IQ3_XS and below need one).
QUANT_TYPES: dict[str, int] = {
    "F32": llama_cpp.LLAMA_FTYPE_ALL_F32,
    "F16": llama_cpp.LLAMA_FTYPE_MOSTLY_F16,
    "BF16": llama_cpp.LLAMA_FTYPE_MOSTLY_BF16,
    "Q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0,
    "Q6_K": llama_cpp.LLAMA_FTYPE_MOSTLY_Q6_K,
    "Q5_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_M,
    "Q4_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M,
    "Q4_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0,
    "IQ4_XS": llama_cpp.LLAMA_FTYPE_MOSTLY_IQ4_XS,
    "IQ3_M": llama_cpp.LLAMA_FTYPE_MOSTLY_IQ3_M,
    "IQ3_S": llama_cpp.LLAMA_FTYPE_MOSTLY_IQ3_S,
}


def quantize(src: Path, dst: Path, quant: str, n_threads: int = 0) -> Path:
    """Write `dst` as `quant` from `src`; metadata (name, pooling, vocabulary) is carried over."""
    if quant not in QUANT_TYPES:
        raise InvalidArgumentError.for_field(
            "quant", f"unknown quant {quant!r}; choose one of {', '.join(QUANT_TYPES)}"
        )
    ensure_backend()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = QUANT_TYPES[quant]
    params.nthread = n_threads
    tmp = dst.with_name(dst.name + ".part")
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(tmp).encode(), ctypes.byref(params))
    if rc != 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"llama.cpp could not quantise {src.name} to {quant} (code {rc})")
    tmp.replace(dst)
    return dst
