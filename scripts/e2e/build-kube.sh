#!/usr/bin/env bash
# Builds, once, the binaries of the single-node cluster into the e2e cache (bin/): Kubernetes'
# server components and kubectl from k8s.io/kubernetes, etcd, containerd (+ its runc shim and ctr),
# helm, and the pause binary of the pod sandbox image (C, from the same k8s.io/kubernetes tree), all
# from the Go module proxy (no release download is reachable). A binary already there is kept; the
# wrapper modules sit in the cache too, so a rebuild reuses Go's module and build caches.
set -euo pipefail
# shellcheck source=scripts/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.7.3}
CONTAINERD_VERSION=${CONTAINERD_VERSION:-v2.4.2}
# One helm pin for the repository: the one the static checks install.
HELM_VERSION=${HELM_VERSION:-$(sed -n 's/^HELM_VERSION=//p' "$E2E_ROOT/scripts/install-deploy-tools.sh")}
bin="$E2E_CACHE/bin"
mkdir -p "$bin"
# nice: these machines have 2 cores shared with other work; the build yields to it.
# PREFETCH=1 only resolves and downloads the modules (network, little CPU), e.g. while the image builds.
build() {
    if [ "${PREFETCH:-0}" = 1 ]; then
        go mod download all
    else
        nice -n 19 go build -trimpath "$@"
    fi
}

# helm first: scripts/e2e-container.sh needs only it.
if [ ! -x "$bin/helm" ]; then
    log "building helm $HELM_VERSION"
    GOBIN="$bin" nice -n 19 go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi

kube_cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
need_kube=0
for cmd in "${kube_cmds[@]}"; do [ -x "$bin/$cmd" ] || need_kube=1; done
if [ "$need_kube" = 1 ]; then
    src="$E2E_CACHE/src/kube-$KUBE_VERSION"
    mkdir -p "$src"
    minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
    staging_version="v0.${KUBE_VERSION#v1.}"
    # k8s.io/kubernetes replaces its staging modules with ./staging/... paths, which do not resolve
    # outside its own tree; the same code is published as k8s.io/<name> v0.<minor>.<patch>.
    gomod="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$KUBE_VERSION.mod"
    [ -f "$gomod" ] || (cd "$src" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" > /dev/null)
    {
        echo "module kubee2e"
        echo
        echo "go $(sed -n 's/^go //p' "$gomod")"
        echo
        echo "require k8s.io/kubernetes $KUBE_VERSION"
        echo
        sed -n 's#^\t\(k8s.io/[a-z0-9-]*\) => ./staging/.*#replace \1 => \1 '"$staging_version"'#p' "$gomod"
    } > "$src/go.mod"
    {
        echo "//go:build tools"
        echo
        echo "package tools"
        echo
        echo "import ("
        for cmd in "${kube_cmds[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$cmd\""; done
        echo ")"
    } > "$src/tools.go"
    log "kubernetes $KUBE_VERSION: resolving modules"
    (cd "$src" && go mod tidy > "$E2E_CACHE/kube-tidy.log" 2>&1) || { tail "$E2E_CACHE/kube-tidy.log" >&2; die "go mod tidy"; }
    # Without the version stamp the server says v0.0.0 and helm's kubeVersion check refuses the chart.
    ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
    for cmd in "${kube_cmds[@]}"; do
        [ -x "$bin/$cmd" ] && continue
        log "building $cmd $KUBE_VERSION (kube-apiserver ~5 min, the rest ~2 min each on 2 cores)"
        start=$SECONDS
        (cd "$src" && CGO_ENABLED=0 build -tags tools -ldflags "$ldflags" -o "$bin/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd")
        [ "${PREFETCH:-0}" = 1 ] && break
        mv "$bin/$cmd.tmp" "$bin/$cmd"
        log "built $cmd in $((SECONDS - start)) s"
    done
fi

if [ ! -x "$bin/etcd" ]; then
    src="$E2E_CACHE/src/etcd-$ETCD_VERSION"
    mkdir -p "$src"
    # etcd's server module carries replace lines, so `go install pkg@version` refuses it.
    printf 'module etcde2e\n\ngo 1.25\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$src/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$src/tools.go"
    log "building etcd $ETCD_VERSION"
    (cd "$src" && go mod tidy > "$E2E_CACHE/etcd-tidy.log" 2>&1) || { tail "$E2E_CACHE/etcd-tidy.log" >&2; die "go mod tidy (etcd)"; }
    (cd "$src" && CGO_ENABLED=0 build -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3)
fi
if [ "${PREFETCH:-0}" = 1 ]; then
    log "modules fetched"
    exit 0
fi

for cmd in containerd containerd-shim-runc-v2 ctr; do
    [ -x "$bin/$cmd" ] && continue
    log "building $cmd $CONTAINERD_VERSION"
    GOBIN="$bin" nice -n 19 go install -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" \
        "github.com/containerd/containerd/v2/cmd/$cmd@$CONTAINERD_VERSION"
done

if [ ! -x "$bin/pause" ]; then
    log "building pause (pod sandbox) from k8s.io/kubernetes $KUBE_VERSION build/pause"
    pause_src="$(go env GOMODCACHE)/k8s.io/kubernetes@$KUBE_VERSION/build/pause/linux/pause.c"
    [ -f "$pause_src" ] || (cd "$E2E_CACHE" && go mod download "k8s.io/kubernetes@$KUBE_VERSION")
    gcc -Os -static -DVERSION="e2e-$KUBE_VERSION" -o "$bin/pause" "$pause_src"
fi
log "cluster binaries in $bin: $(cd "$bin" && echo *)"
