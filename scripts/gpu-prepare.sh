#!/usr/bin/env bash
# gpu-prepare.sh [DIR] - fills DIR (default: .gpu-check/ in the checkout, git-ignored) with what an
# air-gapped NVIDIA node needs for scripts/gpu-check.sh: the llama.cpp source vendored by the pinned
# llama-cpp-python sdist (trimmed to what a CUDA build of libllama and llama-server reads), that
# sdist's Python package, and the cp3XX manylinux wheels of the project's dependencies and theirs.
# The node installs only the wheels it lacks, plus the project's pinned direct dependencies (a
# different protobuf or grpcio there would break the server); it never touches the node's PyTorch.
#   GPU_PYTHON=3.12   the node's python version (the wheels are for it)
#   GPU_SKIP="numpy hf_xet"   wheels left out: a CUDA PyTorch image has numpy, and hf_xet only speeds hub
#                     downloads, which an air-gapped node never makes (together 20 MB of a ~45 MB folder)
# Then copy the checkout with DIR to the node and run scripts/gpu-check.sh there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$root/.gpu-check}"
pyver="${GPU_PYTHON:-3.12}"
python="${PYTHON:-$root/.venv/bin/python}"
[ -x "$python" ] || python="$(command -v python3)"

rm -rf "$dir" && mkdir -p "$dir/wheels"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

version="$(grep -oE 'llama-cpp-python==[0-9.]+' "$root/pyproject.toml" | cut -d= -f3)"
"$python" -m pip download -q --no-deps --no-binary :all: "llama-cpp-python==$version" -d "$tmp"
tar xzf "$tmp"/llama_cpp_python-*.tar.gz -C "$tmp"
src="$(ls -d "$tmp"/llama_cpp_python-*/)"
# Not needed to build libllama and llama-server for CUDA: model files, docs, the web UI's sources,
# other backends' kernels.
(cd "$src/vendor/llama.cpp" && rm -rf models/* docs benches media tools/ui/tests tools/ui/src gguf-py/tests \
  ggml/src/ggml-sycl ggml/src/ggml-hexagon ggml/src/ggml-opencl ggml/src/ggml-et)
tar czf "$dir/llama.cpp.tgz" -C "$src/vendor" llama.cpp
tar czf "$dir/llama_cpp_py.tgz" -C "$src" llama_cpp

# The project's runtime dependencies as pyproject.toml pins them (llama-cpp-python is built on the node).
"$python" - "$root/pyproject.toml" > "$dir/direct.txt" <<'PY'
import sys, tomllib
deps = tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]
print("\n".join(d for d in deps if not d.startswith("llama-cpp-python")))
PY
printf 'diskcache>=5.6\njinja2>=2.11\ntyping-extensions>=4.5\n' >> "$dir/direct.txt"  # llama_cpp's own imports
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
  platforms+=(--platform "$p")
done
"$python" -m pip download -q --only-binary=:all: --python-version "$pyver" --implementation cp "${platforms[@]}" \
  -d "$dir/wheels" -r "$dir/direct.txt"
for name in ${GPU_SKIP-numpy hf_xet}; do rm -f "$dir/wheels/$name"-[0-9]*.whl; done
cp "$root/scripts/gpu-check.sh" "$dir/"
du -sh "$dir"
echo "ready: $dir (copy it with the checkout; on the node: bash scripts/gpu-check.sh)"
