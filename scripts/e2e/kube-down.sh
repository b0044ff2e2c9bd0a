#!/usr/bin/env bash
# Stops the cluster scripts/e2e/kube-up.sh started and removes what it left: every pod's containers
# and sandboxes (through containerd, before it stops, so no shim outlives it), the processes it
# recorded (by PID), kube-proxy's and CNI's iptables rules, the pods' bridge, mounts under its state
# directory. Then checks that nothing of it is still running. Safe to run twice.
set -euo pipefail
# shellcheck source=scripts/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

bin="$E2E_CACHE/bin"
run="${KUBE_RUN:-$E2E_CACHE/kube-run}"
sock_dir=/run/embedroute-e2e-containerd
[ -d "$run" ] || { log "no cluster state at $run"; exit 0; }
ctr() { "$bin/ctr" --address "$sock_dir/containerd.sock" -n k8s.io "$@"; }
stop_pid() { # pid, name: SIGTERM, then SIGKILL after 15 s
    local pid=$1 i
    kill -0 "$pid" 2> /dev/null || return 0
    kill "$pid" 2> /dev/null || true
    for i in $(seq 150); do
        kill -0 "$pid" 2> /dev/null || return 0
        [ "$i" -lt 150 ] && sleep 0.1
    done
    log "$2 ($pid) ignored SIGTERM: SIGKILL"
    kill -9 "$pid" 2> /dev/null || true
}
pid_of() { awk -v n="$1" '$2 == n {print $1}' "$run/pids" 2> /dev/null || true; }

# The kubelet first, so that it restarts nothing while the containers go.
[ -f "$run/pids" ] && for name in kubelet kube-proxy kube-scheduler kube-controller-manager; do
    for pid in $(pid_of "$name"); do stop_pid "$pid" "$name"; done
done
if [ -S "$sock_dir/containerd.sock" ] && ctr version > /dev/null 2>&1; then
    # Pods through CRI would need crictl; ctr sees the same containers and sandboxes.
    for c in $(ctr tasks ls -q 2> /dev/null); do ctr tasks kill -s SIGKILL "$c" > /dev/null 2>&1 || true; done
    sleep 1
    for c in $(ctr tasks ls -q 2> /dev/null); do ctr tasks delete -f "$c" > /dev/null 2>&1 || true; done
    for c in $(ctr containers ls -q 2> /dev/null); do ctr containers delete "$c" > /dev/null 2>&1 || true; done
fi
[ -f "$run/pids" ] && for name in containerd kube-apiserver etcd; do
    for pid in $(pid_of "$name"); do stop_pid "$pid" "$name"; done
done
# Shims are children of nobody once containerd is gone: find them by their binary.
for pid in $(pgrep -f "^$bin/containerd-shim-runc-v2" || true); do stop_pid "$pid" containerd-shim; done
rm -f "$run/pids"

# Network state: kube-proxy's chains, the CNI plugins' chains, the bridge, the sandboxes' netns.
"$bin/kube-proxy" --cleanup --proxy-mode iptables > /dev/null 2>&1 || true
for table in nat filter; do
    for chain in $(iptables -t "$table" -S 2> /dev/null | awk '$1 == "-N" && $2 ~ /^CNI-/ {print $2}'); do
        iptables -t "$table" -S 2> /dev/null | awk -v c="$chain" '$1 == "-A" && $0 ~ ("-j " c "( |$)") {print}' \
            | while read -r rule; do
                # shellcheck disable=SC2086  # the rule's words are iptables arguments
                iptables -t "$table" ${rule/-A/-D} 2> /dev/null || true
            done
        iptables -t "$table" -F "$chain" 2> /dev/null || true
        iptables -t "$table" -X "$chain" 2> /dev/null || true
    done
done
ip link delete e2e0 2> /dev/null || true
for ns in $(ip netns list 2> /dev/null | awk '/^cni-/ {print $1}'); do ip netns delete "$ns" 2> /dev/null || true; done
# Mounts under the state directory (overlay snapshots, kubelet volumes), deepest first.
awk -v r="$run" -v s="$sock_dir" 'index($2, r) == 1 || index($2, s) == 1 {print $2}' /proc/mounts | sort -r \
    | while read -r m; do umount -l "$m" 2> /dev/null || true; done
rm -rf "$sock_dir" /var/lib/cni/networks/e2e

# Nothing of the cluster may be left running.
left="$(pgrep -a -f "^$bin/" || true)"
[ -z "$left" ] || die "still running after tear-down: $left"
if ip link show e2e0 > /dev/null 2>&1; then die "bridge e2e0 still there"; fi
log "tear-down complete: no cluster process, container, bridge or mount left"
