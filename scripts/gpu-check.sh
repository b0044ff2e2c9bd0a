#!/usr/bin/env bash
# gpu-check.sh - the router and the engine on a real NVIDIA GPU, offline, in two phases that fit two
# calls of a few minutes each on a node that keeps /tmp between them. Prepare the folder first, on a
# machine with PyPI: scripts/gpu-prepare.sh (it makes .gpu-check/ beside this checkout's files).
#
#   PHASE=1 bash scripts/gpu-check.sh   installs the wheels the node lacks into $WORK/site, starts the
#                                       CUDA build of the vendored llama.cpp for the card present
#                                       (libllama + llama-server, detached so it outlives the call)
#                                       and the 0.6B-shape synthetic BF16 models, waits for both, then
#                                       checks: probe, route, estimate vs NVML, GPU vs CPU vectors.
#   PHASE=2 bash scripts/gpu-check.sh   the benchmark (bench/gpu.py): the service at its defaults and
#                                       with other layouts, llama-server from the same build, PyTorch
#                                       bf16 on the same shape, all in this run.
#
# Results: $OUT/gpu.json (every step's figures or its error), $OUT/gpu-section.md (BENCHMARKS.md's
# GPU section), the logs. Exit status: 0 when every check of the phase passed.
#   OUT=/tmp/gpu-out WORK=/tmp/gpu-work SHAPE=0.6b ONLY=step,step PREBUILT=/path/to/llama.cpp/build
set -u
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kit="${GPU_CHECK_DIR:-$root/.gpu-check}"
OUT="${OUT:-/tmp/gpu-out}"; WORK="${WORK:-/tmp/gpu-work}"
mkdir -p "$OUT" "$WORK"
t0=$(date +%s)
say() { echo "[gpu-check $(( $(date +%s) - t0 ))s] $*"; }
fail() { say "FAIL: $*"; exit 1; }

command -v nvidia-smi >/dev/null || fail "no nvidia-smi: this check needs an NVIDIA GPU and its driver"
cap="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -n 1 | tr -d ' ')"
[[ "$cap" =~ ^[0-9]+\.[0-9]+$ ]] || fail "could not read the GPU's compute capability ('$cap')"
[ -f "$kit/llama.cpp.tgz" ] || fail "$kit is missing or incomplete: run scripts/gpu-prepare.sh on a machine with PyPI"
export PYTHONPATH="$WORK/site:$root:$WORK/py" PYTHONUNBUFFERED=1

if [ ! -f "$WORK/unpacked" ]; then
  nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
  mkdir -p "$WORK/site" "$WORK/py"
  # The wheels the node lacks, and the project's pinned direct dependencies where the node's differ;
  # numpy and huggingface_hub stay the node's when present (its PyTorch stack was built with them).
  python3 - "$kit" > "$WORK/install.txt" <<'PY'
import sys
from importlib import metadata
from pathlib import Path
from packaging.requirements import Requirement

kit = Path(sys.argv[1])
keep = {"numpy", "huggingface-hub"}
direct = {Requirement(line).name.lower().replace("_", "-"): Requirement(line) for line in (kit / "direct.txt").read_text().split()}
for wheel in sorted((kit / "wheels").glob("*.whl")):
    name = wheel.name.split("-")[0].lower().replace("_", "-")
    try:
        installed = metadata.version(name)
    except metadata.PackageNotFoundError:
        print(wheel)
        continue
    wanted = direct.get(name)
    if wanted is not None and name not in keep and not wanted.specifier.contains(installed, prereleases=True):
        print(wheel)
PY
  mapfile -t wheels < "$WORK/install.txt"
  python3 -m pip install -q --no-index --no-deps --no-compile --target "$WORK/site" "${wheels[@]}" \
    > "$OUT/pip.log" 2>&1 || fail "installing the wheels failed: see $OUT/pip.log"
  # the project reads its version from package metadata; here it runs from the checkout
  mkdir -p "$WORK/site/embedroute-0.0.0.dist-info"
  printf 'Metadata-Version: 2.1\nName: embedroute\nVersion: 0.0.0\n' > "$WORK/site/embedroute-0.0.0.dist-info/METADATA"
  tar xzf "$kit/llama_cpp_py.tgz" -C "$WORK/py"
  # BF16 is written by the synthesiser itself: no llama.cpp needed while it builds
  ( cd "$root" && python3 - "$WORK/models" "${SHAPE:-0.6b}" > "$WORK/synth.log" 2>&1 <<'PY'
import sys
from pathlib import Path
from service.prepare.synth.qwen3 import SHAPES, model_name, synthesize
for folder, kind in (("emb", "embedding"), ("rr", "reranker-cls")):
    out = Path(sys.argv[1]) / folder
    out.mkdir(parents=True, exist_ok=True)
    print(synthesize(out / f"{model_name(SHAPES[sys.argv[2]], kind)}-BF16.gguf", sys.argv[2], kind, "BF16"), flush=True)
PY
    echo $? > "$WORK/synth.rc" ) &
  if [ -n "${PREBUILT:-}" ]; then
    mkdir -p "$WORK/llama.cpp" && ln -sfn "$PREBUILT" "$WORK/llama.cpp/build" && echo 0 > "$WORK/build.rc"
  else
    tar xzf "$kit/llama.cpp.tgz" -C "$WORK"
    sm="${cap/./}"
    setsid bash -c "cd '$WORK/llama.cpp' && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
      -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=$sm -DGGML_NATIVE=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
      -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF > '$WORK/cmake.log' 2>&1 \
      && cmake --build build --target llama llama-server -j \$(nproc) > '$WORK/build.log' 2>&1; echo \$? > '$WORK/build.rc'" &
  fi
  touch "$WORK/unpacked"
  say "sm_${cap/./} build and synth started"
fi
for _ in $(seq 1 "${WAIT_S:-540}"); do
  [ -f "$WORK/build.rc" ] && [ -f "$WORK/synth.rc" ] && break
  sleep 1
done
cp "$WORK"/*.log "$OUT/" 2>/dev/null
[ -f "$WORK/build.rc" ] || fail "the build is still running ($(tail -n 1 "$WORK/build.log" 2>/dev/null)); call again"
[ "$(cat "$WORK/build.rc")" = 0 ] || { tail -n 30 "$WORK/cmake.log" "$WORK/build.log"; fail "the llama.cpp build failed"; }
[ "$(cat "$WORK/synth.rc" 2>/dev/null)" = 0 ] || { tail -n 30 "$WORK/synth.log"; fail "synthesising the models failed"; }
# llama-cpp-python's own switch for a build of the user's: the engine must follow it (issue #27)
export LLAMA_CPP_LIB_PATH="$WORK/llama.cpp/build/bin" LD_LIBRARY_PATH="$WORK/llama.cpp/build/bin:${LD_LIBRARY_PATH:-}"
say "build and models ready"
if [ "${PHASE:-1}" = 1 ]; then steps="${ONLY:-card,route,estimate_and_parity}"
else steps="${ONLY:-service_default,service_layouts,llama_server_embed,llama_server_rerank,torch_bf16}"; fi
cd "$root" && ONLY="$steps" timeout "${BENCH_S:-480}" python3 -m bench.gpu --models "$WORK/models" \
  --llama-server "$WORK/llama.cpp/build/bin/llama-server" --out "$OUT"
rc=$?
say "phase ${PHASE:-1} done (rc $rc)"
exit $rc
