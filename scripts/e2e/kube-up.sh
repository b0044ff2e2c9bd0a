#!/usr/bin/env bash
# Starts a single-node Kubernetes on this machine from the binaries scripts/e2e/build-kube.sh made:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd (runc, cgroupfs, a CNI
# bridge), kubelet and kube-proxy (iptables). Everything listens on 127.0.0.1 except the pods' bridge;
# pod and service addresses stay inside this machine. State, logs and PIDs go to $KUBE_RUN;
# scripts/e2e/kube-down.sh stops it all. Prints the kubeconfig path on stdout once the node is Ready.
set -euo pipefail
# shellcheck source=scripts/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

bin="$E2E_CACHE/bin"
run="${KUBE_RUN:-$E2E_CACHE/kube-run}"
sock_dir=/run/embedroute-e2e-containerd
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/16
API_PORT=16443
for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl containerd containerd-shim-runc-v2 ctr pause; do
    [ -x "$bin/$b" ] || die "$bin/$b missing: run scripts/e2e/build-kube.sh"
done
[ ! -e "$run/pids" ] || die "a cluster is already up ($run/pids): scripts/e2e/kube-down.sh first"
rm -rf "$run"
mkdir -p "$run"/{pki,etcd,logs,containerd,kubelet,cni/net.d,manifests}
t_start=$SECONDS
node="$(hostname | tr '[:upper:]' '[:lower:]')"

start() { # name, then the command; output to logs/name.log, PID appended to $run/pids
    local name=$1
    shift
    "$@" > "$run/logs/$name.log" 2>&1 &
    echo "$! $name" >> "$run/pids"
}
wait_for() { # what, seconds, command...
    local what=$1 limit=$2 t0=$SECONDS
    shift 2
    until "$@" > /dev/null 2>&1; do
        [ $((SECONDS - t0)) -lt "$limit" ] || die "$what not up after ${limit}s (logs: $run/logs)"
        # A component that exited will not come up: say which, with its last log line.
        while read -r pid name; do
            kill -0 "$pid" 2> /dev/null || die "$name exited: $(tail -1 "$run/logs/$name.log")"
        done < "$run/pids"
        sleep 1
    done
    log "$what up ($((SECONDS - t_start)) s since start)"
}

log "credentials: service-account key pair, a token for the components and the e2e client"
openssl genrsa -out "$run/pki/sa.key" 2048 2> /dev/null
openssl rsa -in "$run/pki/sa.key" -pubout -out "$run/pki/sa.pub" 2> /dev/null
token="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# One identity in system:masters for every component: this cluster is a test rig on one machine.
echo "$token,e2e-admin,e2e-admin,system:masters" > "$run/pki/tokens.csv"
kubeconfig="$run/kubeconfig"
cat > "$kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: e2e
    cluster:
      server: https://127.0.0.1:$API_PORT
      # The apiserver's own self-signed serving certificate (--cert-dir); loopback only.
      insecure-skip-tls-verify: true
users:
  - name: e2e-admin
    user:
      token: $token
contexts:
  - name: e2e
    context: {cluster: e2e, user: e2e-admin}
current-context: e2e
KUBECONFIG
chmod 600 "$kubeconfig"
kubectl() { "$bin/kubectl" --kubeconfig "$kubeconfig" "$@"; }

log "etcd"
start etcd "$bin/etcd" --name e2e --data-dir "$run/etcd" \
    --listen-client-urls http://127.0.0.1:12379 --advertise-client-urls http://127.0.0.1:12379 \
    --listen-peer-urls http://127.0.0.1:12380 --initial-advertise-peer-urls http://127.0.0.1:12380 \
    --initial-cluster e2e=http://127.0.0.1:12380 --listen-metrics-urls http://127.0.0.1:12381
wait_for etcd 60 curl -sf http://127.0.0.1:12381/health

log "kube-apiserver"
start kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers http://127.0.0.1:12379 \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    `# The endpoint reconciler refuses a loopback address; pods here never call the API server.` \
    --endpoint-reconciler-type none \
    --cert-dir "$run/pki/apiserver" --token-auth-file "$run/pki/tokens.csv" \
    --authorization-mode RBAC --anonymous-auth=false \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$run/pki/sa.pub" --service-account-signing-key-file "$run/pki/sa.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --allow-privileged=false \
    --kubelet-preferred-address-types Hostname,InternalIP
wait_for kube-apiserver 120 kubectl get --raw /readyz

log "kube-controller-manager, kube-scheduler"
start kube-controller-manager "$bin/kube-controller-manager" --kubeconfig "$kubeconfig" \
    --authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 10257 --leader-elect=false \
    --service-account-private-key-file "$run/pki/sa.key" --root-ca-file "$run/pki/apiserver/apiserver.crt" \
    --use-service-account-credentials=false --allocate-node-cidrs=false \
    --service-cluster-ip-range "$SERVICE_CIDR"
start kube-scheduler "$bin/kube-scheduler" --kubeconfig "$kubeconfig" \
    --authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 10259 --leader-elect=false

log "containerd (runc, cgroupfs) + CNI bridge $POD_CIDR"
# No ipMasq: pods get no route out of this machine's namespaces (only the host, via the bridge).
cat > "$run/cni/net.d/10-e2e.conflist" <<CNI
{
  "cniVersion": "1.0.0",
  "name": "e2e",
  "plugins": [
    {"type": "bridge", "bridge": "e2e0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "$POD_CIDR"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
CNI
# The bridge exists before the first pod, so that the service range can be routed onto it: the host's
# calls to a ClusterIP then leave from 10.244.0.1 (which pods can answer, having no default route),
# and a packet kube-proxy has not rewritten yet stays on this bridge instead of taking the default
# route off the machine.
ip link add e2e0 type bridge
ip addr add "${POD_CIDR%.0/*}.1/${POD_CIDR#*/}" dev e2e0
ip link set e2e0 up
ip route add "$SERVICE_CIDR" dev e2e0 src "${POD_CIDR%.0/*}.1"
cat > "$run/containerd/config.toml" <<TOML
version = 3
root = "$run/containerd/root"
state = "$sock_dir/state"
[grpc]
  address = "$sock_dir/containerd.sock"
[plugins.'io.containerd.cri.v1.runtime']
  enable_selinux = false
  # This machine runs us without CAP_SYS_RESOURCE: lowering oom_score_adj (-998 for the pod
  # sandbox) fails in runc with "failed to update /proc/self/oom_score_adj: Permission denied".
  # Restricted, containers get at least containerd's own score.
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        # Debian's runc: crun fails on this kernel's hybrid cgroup layout.
        BinaryName = "${RUNC:-$(command -v runc)}"
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$run/cni/net.d"
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    # Built locally (kube-up makes it from build/pause): no registry to pull registry.k8s.io/pause from.
    sandbox = "localhost/e2e/pause:local"
TOML
mkdir -p "$sock_dir"
# The shim is found on PATH.
start containerd env PATH="$bin:$PATH" "$bin/containerd" --config "$run/containerd/config.toml"
ctr() { "$bin/ctr" --address "$sock_dir/containerd.sock" -n k8s.io "$@"; }
wait_for containerd 60 ctr version

log "pod sandbox image localhost/e2e/pause:local"
mkdir -p "$run/pause-rootfs"
cp "$bin/pause" "$run/pause-rootfs/pause"
tar -C "$run/pause-rootfs" -c pause | podman import --change 'ENTRYPOINT ["/pause"]' - localhost/e2e/pause:local > /dev/null 2>&1
podman save localhost/e2e/pause:local -o "$run/pause.tar" > /dev/null 2>&1
ctr images import --local "$run/pause.tar" > /dev/null 2>&1 || ctr images import "$run/pause.tar" > /dev/null
rm -f "$run/pause.tar"

log "kubelet (cgroup v1 allowed, cgroupfs) and kube-proxy"
cat > "$run/kubelet/config.yaml" <<KUBELET
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This kernel mounts cgroup v1 controllers; kubelet >= 1.35 refuses them unless told.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$sock_dir/containerd.sock
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
address: 127.0.0.1
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
failSwapOn: false
# One machine, shared with other work: no QoS cgroup tree, no node-allocatable enforcement.
cgroupsPerQOS: false
enforceNodeAllocatable: []
resolvConf: /etc/resolv.conf
# Container logs under the state directory, not /var/log/pods: tear-down removes them with it.
podLogsDir: $run/pod-logs
evictionHard: {memory.available: "200Mi", nodefs.available: "2%", imagefs.available: "2%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
KUBELET
start kubelet "$bin/kubelet" --kubeconfig "$kubeconfig" --config "$run/kubelet/config.yaml" \
    --root-dir "$run/kubelet/root" --cert-dir "$run/kubelet/pki" --hostname-override "$node" --v 1
start kube-proxy "$bin/kube-proxy" --kubeconfig "$kubeconfig" --proxy-mode iptables \
    --cluster-cidr "$POD_CIDR" --hostname-override "$node" --conntrack-max-per-core 0 \
    --metrics-bind-address 127.0.0.1:10249 --healthz-bind-address 127.0.0.1:10256
node_ready() { [ "$(kubectl get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
wait_for "node $node Ready" 180 node_ready
# The default ServiceAccount exists once the controller-manager's token controllers ran.
wait_for "default ServiceAccount" 60 kubectl get serviceaccount default
log "cluster up in $((SECONDS - t_start)) s"
echo "$((SECONDS - t_start))" > "$run/startup-seconds"
echo "$kubeconfig"
