#!/usr/bin/env bash
# Builds the embedroute image with podman on a machine without a container registry: the local
# Debian base images first (scripts/build-base-images.sh), then docker/<VARIANT>.Dockerfile with them
# as GO_IMAGE / PYTHON_IMAGE. Re-runs reuse podman's layer cache, so only changed stages rebuild
# (the llama-cpp-python compile, ~15 min on 2 cores, sits before the app's COPY).
# Usage: scripts/build-image.sh [cpu|cuda]   env: TAG (default embedroute/embedroute:<version>-<variant>)
# Prints build time and image size at the end, and the tag on stdout.
set -euo pipefail
# shellcheck source=scripts/e2e/lib.sh
source "$(dirname "$0")/e2e/lib.sh"
cd "$E2E_ROOT"

VARIANT=${1:-cpu}
version="$(sed -n 's/^version *= *"\(.*\)"/\1/p' pyproject.toml | head -1)"
TAG=${TAG:-localhost/embedroute/embedroute:$version-$VARIANT}
dockerfile="docker/$VARIANT.Dockerfile"
[ -f "$dockerfile" ] || die "no $dockerfile"

mapfile -t bases < <(bash scripts/build-base-images.sh)
log "building $TAG from $dockerfile (PYTHON_IMAGE=${bases[0]}, GO_IMAGE=${bases[1]})"
extra=()
if [ "$VARIANT" = cuda ]; then
    # The CUDA image's bases are NVIDIA's; only their registry has them. Pass CUDA_DEVEL_IMAGE /
    # CUDA_RUNTIME_IMAGE to use local copies; otherwise only the Go stage can build here.
    extra+=(--build-arg "GO_IMAGE=${bases[1]}")
    [ -n "${CUDA_DEVEL_IMAGE:-}" ] && extra+=(--build-arg "CUDA_DEVEL_IMAGE=$CUDA_DEVEL_IMAGE")
    [ -n "${CUDA_RUNTIME_IMAGE:-}" ] && extra+=(--build-arg "CUDA_RUNTIME_IMAGE=$CUDA_RUNTIME_IMAGE")
    [ -n "${TARGET:-}" ] && extra+=(--target "$TARGET")
else
    extra+=(--build-arg "GO_IMAGE=${bases[1]}" --build-arg "PYTHON_IMAGE=${bases[0]}")
fi

start=$SECONDS
# --network=host: the RUN steps reach PyPI, Debian and the Go proxy exactly as this host does.
# nice: the llama.cpp compile must not starve other work on the same cores.
# --format docker: the OCI format has no HEALTHCHECK, and podman drops it with only a warning.
if ! nice -n 19 podman build --layers --format docker --network=host \
    --ignorefile "$dockerfile.dockerignore" -f "$dockerfile" "${extra[@]}" -t "$TAG" . 2>&1 \
    | tee "$E2E_CACHE/build-$VARIANT.log" | while IFS= read -r line; do
        # Progress: the stage steps, and a line per compiled llama.cpp target.
        case "$line" in
            STEP* | *"Building wheel"* | *"Successfully"* | *Error* | *error:* | "COMMIT"* | "--> "*) log "$line" ;;
        esac
    done; then
    die "podman build failed (log: $E2E_CACHE/build-$VARIANT.log)"
fi
size="$(podman image inspect --format '{{.Size}}' "$TAG")"
log "built $TAG in $((SECONDS - start)) s, size $((size / 1000000)) MB"
echo "$TAG"
