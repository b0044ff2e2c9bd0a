#!/usr/bin/env bash
# The chart on a real single-node Kubernetes (scripts/e2e/kube-up.sh), torn down at the end
# (scripts/e2e/kube-down.sh) whatever happens:
#   1. the image loaded into containerd; synthetic models on a hostPath PV bound to the chart's PVC
#   2. helm install (ci/cpu-values.yaml + scripts/e2e/values-e2e.yaml + scripts/e2e/values-kube.yaml);
#      the pods Ready through the chart's native gRPC probes
#   3. Embed and Rerank through the Service's ClusterIP (kube-proxy's iptables rules)
#   4. helm upgrade (a pod-template change: a rolling update) while a client calls and streams;
#      only UNAVAILABLE may occur, and the client retries it; nothing may fail
#   5. the API server accepts the chart's objects for every ci/*-values.yaml (server-side dry run;
#      the ServiceMonitor needs the Prometheus Operator's CRD, which this cluster has not)
# Needs: root, podman, runc, iptables, the image (scripts/build-image.sh); builds the cluster's
# binaries once (scripts/e2e/build-kube.sh). Results: .cache/e2e/kube-results.txt
set -euo pipefail
# shellcheck source=scripts/e2e/lib.sh
source "$(dirname "$0")/e2e/lib.sh"
cd "$E2E_ROOT"

version="$(sed -n 's/^version *= *"\(.*\)"/\1/p' pyproject.toml | head -1)"
IMAGE=${IMAGE:-localhost/embedroute/embedroute:$version-cpu}
NS=embedroute-e2e
RELEASE=er
ROLL_SECONDS=${ROLL_SECONDS:-150}
bin="$E2E_CACHE/bin"
results="$E2E_CACHE/kube-results.txt"
podman image exists "$IMAGE" || die "no image $IMAGE: run scripts/build-image.sh"
bash scripts/e2e/build-kube.sh
PY="$(bash scripts/e2e/client-venv.sh)"
: > "$results"
record() { log "$*"; echo "$*" >> "$results"; }

trap 'bash scripts/e2e/kube-down.sh 2>&1 | tee -a "$results" >&2' EXIT
kubeconfig="$(bash scripts/e2e/kube-up.sh)"
run="$(dirname "$kubeconfig")"
record "cluster start-up: $(cat "$run/startup-seconds") s (etcd to node Ready); $("$bin/kubectl" version --kubeconfig "$kubeconfig" 2>/dev/null | tr '\n' ' ')"
kubectl() { "$bin/kubectl" --kubeconfig "$kubeconfig" "$@"; }
helm() { "$bin/helm" --kubeconfig "$kubeconfig" "$@"; }
ctr() { "$bin/ctr" --address /run/embedroute-e2e-containerd/containerd.sock -n k8s.io "$@"; }

log "1. image into containerd, models volume"
t0=$SECONDS
podman save "$IMAGE" -o "$run/image.tar" > /dev/null 2>&1
ctr images import "$run/image.tar" > /dev/null
rm -f "$run/image.tar"
record "image $IMAGE imported into containerd in $((SECONDS - t0)) s"
models="$E2E_CACHE/models"
if ! compgen -G "$models/gguf/*.gguf" > /dev/null; then
    mkdir -p "$models/gguf"
    podman run --rm --network=none --user 0 -v "$models:/out:Z" "$IMAGE" synth --out /out/gguf >&2
fi
kubectl create namespace "$NS" > /dev/null
kubectl apply -f - > /dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata: {name: embedroute-e2e-models}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadOnlyMany]
  storageClassName: ""
  hostPath: {path: "$models", type: Directory}
  claimRef: {namespace: $NS, name: embedroute-models}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: embedroute-models, namespace: $NS}
spec:
  accessModes: [ReadOnlyMany]
  storageClassName: ""
  volumeName: embedroute-e2e-models
  resources: {requests: {storage: 1Gi}}
YAML

log "2. helm install"
# cpu-values with its pin renamed to the synthetic model (see scripts/e2e/chart_runtime.py).
"$PY" scripts/e2e/chart_runtime.py synth-values helm/embedroute/ci/cpu-values.yaml "$run/cpu-values.yaml"
values=(-f "$run/cpu-values.yaml" -f scripts/e2e/values-e2e.yaml -f scripts/e2e/values-kube.yaml
    --set "image.tag=$version-cpu")
t0=$SECONDS
if ! helm install "$RELEASE" helm/embedroute -n "$NS" "${values[@]}" --wait --timeout 5m > "$run/helm-install.log" 2>&1; then
    cat "$run/helm-install.log" >&2
    kubectl -n "$NS" get pods -o wide >&2 || true
    kubectl -n "$NS" get events --sort-by=.lastTimestamp 2>&1 | tail -15 >&2 || true
    # kubectl logs would need the API server to authenticate to the kubelet: read the files.
    for f in "$run"/pod-logs/*/server/*.log; do
        [ -f "$f" ] && { echo "== $f"; tail -5 "$f"; } >&2
    done
    die "helm install did not become Ready"
fi
record "helm install --wait: Ready in $((SECONDS - t0)) s"
record "kubectl get pods -o wide:"
kubectl -n "$NS" get pods -o wide | tee -a "$results" >&2
kubectl -n "$NS" get deploy,svc,pdb,hpa,networkpolicy,pvc | tee -a "$results" >&2
probe="$(kubectl -n "$NS" get deploy -o jsonpath='{.items[0].spec.template.spec.containers[0].readinessProbe}')"
record "readiness probe as deployed: $probe"

log "3. calls through the Service"
svc_ip="$(kubectl -n "$NS" get svc "$RELEASE-embedroute" -o jsonpath='{.spec.clusterIP}')"
svc_port="$(kubectl -n "$NS" get svc "$RELEASE-embedroute" -o jsonpath='{.spec.ports[?(@.name=="grpc")].port}')"
out="$("$PY" scripts/e2e/client.py check "$svc_ip:$svc_port")" || die "calls through the Service failed: $out"
record "calls via Service $svc_ip:$svc_port: $out"

log "4. rolling update under load (${ROLL_SECONDS}s of calls)"
"$PY" scripts/e2e/client.py load "$svc_ip:$svc_port" --seconds "$ROLL_SECONDS" --workers 2 > "$run/load.json" &
load_pid=$!
sleep 10
old_pods="$(kubectl -n "$NS" get pods -o name | tr '\n' ' ')"
# The old pods' logs, followed while they go (the kubelet deletes them with the pods): they show
# whether calls were still being answered after SIGTERM.
tails=()
for pod in $old_pods; do
    pod="${pod#pod/}"
    for dir in "$run/pod-logs/${NS}_${pod}"_*/server; do
        tail -n 0 -F "$dir"/0.log > "$run/old-$pod.log" 2> /dev/null &
        tails+=($!)
    done
done
t0=$SECONDS
helm upgrade "$RELEASE" helm/embedroute -n "$NS" "${values[@]}" --set-string podAnnotations.e2e-rollout="$(date +%s)" \
    --wait --timeout 5m > "$run/helm-upgrade.log" 2>&1 || { cat "$run/helm-upgrade.log" >&2; die "helm upgrade failed"; }
kubectl -n "$NS" rollout status deploy/"$RELEASE-embedroute" --timeout 5m >&2
record "helm upgrade: rollout complete in $((SECONDS - t0)) s; pods before: $old_pods; after: $(kubectl -n "$NS" get pods -o name | tr '\n' ' ')"
sleep 5
kill "${tails[@]}" 2> /dev/null || true
for pod in $old_pods; do
    pod="${pod#pod/}"
    f="$run/old-$pod.log"
    [ -f "$f" ] || continue
    # Calls answered between the drain's start and the server's stop.
    during="$(awk '/draining: calls in flight/ {d = 1} /service.server: stopped/ {d = 0} d && /embedroute.access: embedroute.v1/ {n++} END {print n + 0}' "$f")"
    record "old pod $pod: $(grep -c 'embedroute.access: embedroute.v1' "$f") calls answered during the rollout, $during of them after SIGTERM (draining); $(grep -o 'draining: .*' "$f" | head -1); $(grep -c 'service.server: stopped' "$f") 'stopped'"
done
load_rc=0
wait "$load_pid" || load_rc=$?
record "rolling update load: $(cat "$run/load.json")"
kubectl -n "$NS" get pods -o wide | tee -a "$results" >&2
[ "$load_rc" = 0 ] || die "calls failed during the rolling update"

log "5. server-side dry run of every ci values file"
for v in helm/embedroute/ci/*-values.yaml; do
    if [ "$(basename "$v")" = scale-values.yaml ]; then
        # Its ServiceMonitor needs the CRD; the rest (HPA with memory target, minAvailable PDB) is checked.
        extra=(--set serviceMonitor.enabled=false)
    else
        extra=()
    fi
    if out="$(helm install "dry-$(basename "$v" -values.yaml)" helm/embedroute -n "$NS" -f "$v" "${extra[@]}" --dry-run=server 2>&1)"; then
        record "dry-run=server $(basename "$v") ${extra[*]}: accepted"
    else
        record "dry-run=server $(basename "$v"): REFUSED: $(echo "$out" | tail -2)"
    fi
done

helm uninstall "$RELEASE" -n "$NS" --wait > /dev/null
record "helm uninstall: done"
