#!/usr/bin/env bash
# gpu-check.sh - check the router and the engine on a real NVIDIA GPU, in one run.
#
# Needs: an NVIDIA GPU with its driver (nvidia-smi), the CUDA toolkit (nvcc), python3.11+,
# network access to PyPI. It builds llama-cpp-python with CUDA for the card present only
# (CMAKE_CUDA_ARCHITECTURES=<its sm>, a few minutes) into a throwaway venv, synthesises the
# tiny test models with `embedroute synth`, then checks that
#   1. the probe sees the GPU and this build can offload to it,
#   2. the router puts the embedding model on the GPU with all its layers,
#   3. its estimate of GPU memory is near what the load really took (NVML, reported),
#   4. embeddings computed on the GPU agree with the CPU's (cosine > 0.999),
# and prints a short summary. Exit status 0 = all checks passed.
#
# Usage: scripts/gpu-check.sh            (work dir: a fresh /tmp/embedroute-gpu-check.*)
#        GPU_CHECK_DIR=/path scripts/gpu-check.sh   (reuses a venv built there before)
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
LLAMA_VERSION="0.3.36"
START=$(date +%s)

fail() { echo "gpu-check: FAIL: $*" >&2; exit 1; }
say() { echo "gpu-check: $*" >&2; }

command -v nvidia-smi >/dev/null 2>&1 \
    || fail "no NVIDIA GPU here (nvidia-smi not found); this check needs a machine with one"
CAP="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' ')" \
    || fail "nvidia-smi found no usable GPU (is the driver loaded?)"
[[ "$CAP" =~ ^[0-9]+\.[0-9]+$ ]] || fail "could not read the GPU's compute capability (nvidia-smi said '$CAP')"
SM="${CAP/./}"
GPU_NAME="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)"
NVCC="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)"
[ -x "$NVCC" ] || fail "the CUDA toolkit is missing (no nvcc on PATH or in /usr/local/cuda/bin)"
say "GPU: $GPU_NAME, compute capability $CAP (sm_$SM); nvcc: $NVCC"

WORK="${GPU_CHECK_DIR:-$(mktemp -d /tmp/embedroute-gpu-check.XXXXXX)}"
mkdir -p "$WORK"
VENV="$WORK/venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import llama_cpp, sys; sys.exit(0 if llama_cpp.llama_supports_gpu_offload() else 1)" 2>/dev/null; then
    say "building llama-cpp-python $LLAMA_VERSION with CUDA for sm_$SM into $VENV (a few minutes)"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    CUDACXX="$NVCC" CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=$SM" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
        "$VENV/bin/python" -m pip install -q --no-cache-dir --no-binary llama-cpp-python "llama-cpp-python==$LLAMA_VERSION" \
        || fail "building llama-cpp-python with CUDA failed"
    "$VENV/bin/python" -m pip install -q -e "$REPO" || fail "installing embedroute into the venv failed"
fi

say "synthesising the tiny test models"
"$VENV/bin/embedroute" synth --kind embedding --quants F32,F16,BF16,Q8_0 --out "$WORK/models" >/dev/null \
    || fail "embedroute synth failed"

cd "$REPO"
STATUS=0
"$VENV/bin/python" - "$WORK/models" <<'PY' || STATUS=$?
from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pynvml

from router import RouterPrefs, plan_models, probe_hardware
from service.engine import EmbedOptions, load_model

models = Path(sys.argv[1])
failures: list[str] = []


def check(ok: bool, what: str) -> None:
    print(f"  [{'ok' if ok else 'FAIL'}] {what}")
    if not ok:
        failures.append(what)


hw = probe_hardware(cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"))
print(f"probe: {hw.summary()}")
check(bool(hw.gpus), f"probe sees {len(hw.gpus)} GPU(s)")
check(hw.llama_gpu_offload, "this llama.cpp build can offload to the GPU")

(plan,) = plan_models([models], RouterPrefs(n_ctx=512), hw)
chosen = plan.chosen
print(f"router: {plan.reason}")
check(chosen.device == "gpu", f"choice is on the GPU ({chosen.label()})")
check(chosen.n_gpu_layers > chosen.description.n_layers, f"all layers offloaded ({chosen.gpu_layers_text})")

pynvml.nvmlInit()
assert plan.budget.gpu is not None
handle = pynvml.nvmlDeviceGetHandleByUUID(plan.budget.gpu.uuid)
used_before = pynvml.nvmlDeviceGetMemoryInfo(handle).used
gpu_model = load_model(chosen.description.path, chosen.settings)
texts = ["What is the capital of China?", "Explain gravity", "The quick brown fox jumps over the lazy dog. " * 20]
gpu_vectors = np.stack([e.vector for e in gpu_model.embed(texts, EmbedOptions())])
used = pynvml.nvmlDeviceGetMemoryInfo(handle).used - used_before
estimated = chosen.estimate.gpu_bytes
gap = (estimated - used) / max(used, 1)
print(f"memory: estimated {estimated / 2**20:.0f} MiB on the GPU, NVML saw {used / 2**20:.0f} MiB more in use ({gap:+.0%})")
check(abs(gap) <= 0.25, "GPU memory estimate within 25% of what NVML measured (15% is the target)")
gpu_model.close()

cpu_model = load_model(chosen.description.path, replace(chosen.settings, n_gpu_layers=0, extra={}))
cpu_vectors = np.stack([e.vector for e in cpu_model.embed(texts, EmbedOptions())])
cpu_model.close()
cosines = (gpu_vectors * cpu_vectors).sum(axis=1) / (
    np.linalg.norm(gpu_vectors, axis=1) * np.linalg.norm(cpu_vectors, axis=1)
)
check(bool(cosines.min() > 0.999), f"GPU vs CPU embeddings: cosine min {cosines.min():.6f} over {len(texts)} texts")
pynvml.nvmlShutdown()
sys.exit(1 if failures else 0)
PY
ELAPSED=$(( $(date +%s) - START ))
if [ "$STATUS" -eq 0 ]; then
    echo "gpu-check: OK on $GPU_NAME (sm_$SM) in ${ELAPSED}s; work dir $WORK"
else
    fail "see the [FAIL] lines above (${ELAPSED}s; work dir $WORK)"
fi
