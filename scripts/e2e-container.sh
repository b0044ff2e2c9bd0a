#!/usr/bin/env bash
# Runs the built image the way the Helm chart runs it and checks it at runtime: the chart is rendered
# (ci/cpu-values.yaml, its pin renamed to the synthetic model, + scripts/e2e/values-e2e.yaml) and its user, fsGroup, read-only root
# filesystem, dropped capabilities, EMBEDROUTE_* environment, config file, read-only models volume,
# limits and grace period become the podman run flags (scripts/e2e/chart_runtime.py). Checks:
#   1. start-up within the chart's startup-probe budget; the probe's health check passes both ways
#      the chart can run it (native gRPC probe = grpc.health.v1 Check on the port; the TLS-mode exec
#      probe = embedroute-healthcheck inside the container)
#   2. Embed and Rerank answer through the published port
#   3. podman stop (SIGTERM) with an EmbedStream in flight: every input answered, exit 0, within grace
#   4. an empty, read-only models volume (the default-model path): served from the chart's emptyDir
#   5. SIGTERM during start-up ends the container at once, not after the grace period
# Needs: podman, the image (scripts/build-image.sh), helm (scripts/e2e/build-kube.sh builds it).
# Usage: scripts/e2e-container.sh   env: IMAGE, PORT (default 15051)
set -euo pipefail
# shellcheck source=scripts/e2e/lib.sh
source "$(dirname "$0")/e2e/lib.sh"
cd "$E2E_ROOT"

version="$(sed -n 's/^version *= *"\(.*\)"/\1/p' pyproject.toml | head -1)"
IMAGE=${IMAGE:-localhost/embedroute/embedroute:$version-cpu}
PORT=${PORT:-15051}
HELM=${HELM:-$E2E_CACHE/bin/helm}
[ -x "$HELM" ] || HELM="$(command -v helm)" || die "helm missing (scripts/e2e/build-kube.sh builds it)"
podman image exists "$IMAGE" || die "no image $IMAGE: run scripts/build-image.sh"
PY="$(bash scripts/e2e/client-venv.sh)"
run="$E2E_CACHE/container-run"
rm -rf "$run"
mkdir -p "$run"
name=embedroute-e2e
results="$run/results.txt"
cleanup() { podman rm -f -t 0 "$name" > /dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
record() { log "$*"; echo "$*" >> "$results"; }

log "rendering the chart (cpu values + e2e sizing)"
"$PY" scripts/e2e/chart_runtime.py synth-values helm/embedroute/ci/cpu-values.yaml "$run/cpu-values.yaml"
"$HELM" template er helm/embedroute --kube-version 1.37.0 \
    -f "$run/cpu-values.yaml" -f scripts/e2e/values-e2e.yaml > "$run/manifests.yaml"
# The default-model path is the chart's defaults (cpu-values pins a model that path does not have).
"$HELM" template er helm/embedroute --kube-version 1.37.0 -f scripts/e2e/values-e2e.yaml > "$run/manifests-default.yaml"
grace="$("$PY" scripts/e2e/chart_runtime.py get "$run/manifests.yaml" grace)"
budget="$("$PY" scripts/e2e/chart_runtime.py get "$run/manifests.yaml" startup-budget)"
probe_service="$("$PY" scripts/e2e/chart_runtime.py get "$run/manifests.yaml" probe-service)"

# The models volume as an operator fills a PVC: written by someone else (root here), read by the
# chart's non-root user. cpu-values mounts the PVC's gguf/ subPath.
models="$E2E_CACHE/models"
if ! compgen -G "$models/gguf/*.gguf" > /dev/null; then
    log "writing the synthetic models (embedroute synth) into $models/gguf"
    mkdir -p "$models/gguf"
    podman run --rm --network=none --user 0 -v "$models:/out:Z" "$IMAGE" synth --out /out/gguf >&2
fi

start_server() { # manifests, models dir on the host, log file, extra podman flags...
    local manifests=$1 models_dir=$2 logfile=$3
    shift 3
    mapfile -t flags < <("$PY" scripts/e2e/chart_runtime.py podman-args "$manifests" \
        --models "$models_dir" --config-dir "$run/config" --port "$PORT")
    printf '%s\n' "${flags[@]}" "$@" > "$run/podman-flags.txt"
    podman run -d --name "$name" "${flags[@]}" "$@" "$IMAGE" serve > /dev/null
    podman logs -f "$name" > "$logfile" 2>&1 &
}

wait_serving() { # seconds allowed; prints the seconds it took
    local t0=$SECONDS
    while [ $((SECONDS - t0)) -lt "$1" ]; do
        if [ "$(podman inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" != true ]; then
            return 1
        fi
        if podman exec "$name" embedroute-healthcheck "$probe_service" > /dev/null 2>&1; then
            echo $((SECONDS - t0))
            return 0
        fi
        sleep 1
    done
    return 1
}

: > "$results"
record "image $IMAGE, $(($(podman image inspect -f '{{.Size}}' "$IMAGE") / 1000000)) MB"
log "1. start-up (startup-probe budget ${budget}s)"
start_server "$run/manifests.yaml" "$models/gguf" "$run/server.log"
record "flags from the chart: $(tr '\n' ' ' < "$run/podman-flags.txt")"
if ! ready_s="$(wait_serving "$budget")"; then
    tail -40 "$run/server.log" >&2
    die "server not SERVING within the startup budget (${budget}s); log $run/server.log"
fi
record "startup: SERVING after ${ready_s}s (budget ${budget}s)"
podman healthcheck run "$name" || die "the image's HEALTHCHECK fails"
record "image HEALTHCHECK (podman healthcheck run): healthy"
probe_out="$(podman exec "$name" embedroute-healthcheck "$probe_service" 2>&1)"
record "exec probe (embedroute-healthcheck \"$probe_service\"): $probe_out"
for svc in "" embedroute.v1.EmbedService embedroute.v1.RerankService; do
    out="$(podman exec "$name" grpc_health_probe -addr=127.0.0.1:50051 "-service=$svc" 2>&1)" \
        || die "health of '$svc': $out"
    record "grpc probe service='$svc': $out"
done
# The root filesystem really is read-only for the server's user (what readOnlyRootFilesystem means).
if podman exec "$name" sh -c 'touch /opt/venv/x' 2> /dev/null; then die "root filesystem is writable"; fi
podman exec "$name" sh -c 'touch /tmp/x && rm /tmp/x' || die "/tmp is not writable"
record "root fs read-only, /tmp writable; user $(podman exec "$name" id)"

log "2. Embed and Rerank through 127.0.0.1:$PORT"
check_out="$("$PY" scripts/e2e/client.py check "127.0.0.1:$PORT")" || die "calls failed: $check_out"
record "calls: $check_out"

log "3. SIGTERM with a stream in flight"
rm -f "$run/stream-ready"
"$PY" scripts/e2e/client.py stream "127.0.0.1:$PORT" --inputs 16 --gap 0.5 --ready-file "$run/stream-ready" \
    > "$run/stream.json" &
client_pid=$!
for _ in $(seq 100); do [ -f "$run/stream-ready" ] && break; sleep 0.1; done
[ -f "$run/stream-ready" ] || die "stream never got its first answer"
t0=$(date +%s%N)
# podman stop sends SIGTERM, then SIGKILL after the chart's terminationGracePeriodSeconds.
podman stop -t "$grace" "$name" > /dev/null
stop_ms=$((($(date +%s%N) - t0) / 1000000))
stream_rc=0
wait "$client_pid" || stream_rc=$?
exit_code="$(podman inspect -f '{{.State.ExitCode}}' "$name")"
record "SIGTERM: container stopped in ${stop_ms} ms (grace ${grace}s), exit code $exit_code; stream: $(cat "$run/stream.json")"
grep -E 'drain|stopped' "$run/server.log" | tail -3 | while IFS= read -r l; do record "  server: $l"; done
[ "$stream_rc" = 0 ] || die "the stream lost answers on SIGTERM"
[ "$exit_code" = 0 ] || die "server exit code $exit_code after SIGTERM (137: killed after the grace period)"
podman rm -f "$name" > /dev/null

log "4. empty read-only models volume (the default-model path)"
mkdir -p "$run/empty-models" "$run/empty-models-2"
# With no GGUF the server first asks the model hub; nothing off this machine may be called, so
# huggingface_hub's offline switch makes that check fail at once (the chart cannot set it: its
# extraEnv takes EMBEDROUTE_* names only).
start_server "$run/manifests-default.yaml" "$run/empty-models" "$run/server-empty.log" --env=HF_HUB_OFFLINE=1
record "empty models, chart defaults: $(grep -E 'EMBEDROUTE_MODELS|tmpfs' "$run/podman-flags.txt" | tr '\n' ' ')"
if ready_s="$(wait_serving 300)"; then
    record "empty models: SERVING after ${ready_s}s"
    if out="$("$PY" scripts/e2e/client.py check "127.0.0.1:$PORT" 2>&1)"; then
        record "empty models: calls answered: $out"
    else
        record "empty models: SERVING but calls fail: $(echo "$out" | tail -1)"
    fi
else
    record "empty models: never SERVING within 300s"
fi
grep -iE 'default|read-only|error|warn' "$run/server-empty.log" | head -8 | while IFS= read -r l; do record "  server: $l"; done
podman rm -f "$name" > /dev/null

log "5. SIGTERM during start-up (while the default model is being written)"
start_server "$run/manifests-default.yaml" "$run/empty-models-2" "$run/server-early-stop.log" --env=HF_HUB_OFFLINE=1
sleep 1.5
t0=$(date +%s%N)
podman stop -t "$grace" "$name" > /dev/null
stop_ms=$((($(date +%s%N) - t0) / 1000000))
exit_code="$(podman inspect -f '{{.State.ExitCode}}' "$name")"
record "SIGTERM during start-up: stopped in ${stop_ms} ms (grace ${grace}s), exit code $exit_code"
# 137 = SIGKILL after the grace period: the signal was dropped (PID 1 without a handler).
[ "$exit_code" != 137 ] || die "SIGTERM during start-up ignored: killed after the grace period"
podman rm -f "$name" > /dev/null
log "results in $results"
cat "$results"
