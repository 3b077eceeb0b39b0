#!/usr/bin/env bash
# Builds the test environment's Go programs (etcd, etcdctl and etcdutl, the Kubernetes control plane,
# restic, helm) from the Go module proxy, once per version, into a cache outside the
# repository. Prints progress; safe to run again (finished builds are skipped).
#   build-go-tools.sh          what tests need
#   build-go-tools.sh kopia    kopia alone, which only the engines benchmark runs
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
source "$here/versions.sh"

cache=${SAFEHOLD_CACHE:-$HOME/.cache/safehold}
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
export GOPATH=${GOPATH:-$HOME/go}

log() { printf '[build-go-tools %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# go build is silent for minutes at a time: say every 30 s that it still works.
with_ticker() { # label command...
  local label=$1; shift
  local start=$SECONDS
  ( while sleep 30; do log "$label: still building ($((SECONDS - start)) s)"; done ) &
  local ticker=$!
  local status=0
  "$@" || status=$?
  kill "$ticker" 2>/dev/null; wait "$ticker" 2>/dev/null || true
  return "$status"
}

# Builds one main package inside a module of our own that requires the real
# module, so that its replace directives and version lists are not needed.
build_main() { # module-name required-module version package out-dir binary-name [ldflags]
  local name=$1 req=$2 version=$3 pkg=$4 out=$5 bin=$6 ldflags=${7:-}
  local mod=$cache/build/${name##*/}-$version
  rm -rf "$mod" "$out.tmp"; mkdir -p "$mod" "$out.tmp"
  printf 'module %s\ngo 1.24\nrequire %s %s\n' "$name" "$req" "$version" >"$mod/go.mod"
  with_ticker "$bin" bash -c 'cd "$1" && go build -trimpath -ldflags "$4" -o "$2" "$3"' _ "$mod" "$out.tmp/$bin" "$pkg" "$ldflags"
  rm -rf "$out"; mv "$out.tmp" "$out"
}

build_etcd() {
  local out=$cache/etcd-$ETCD_VERSION
  [ -x "$out/etcd" ] && { log "etcd $ETCD_VERSION cached"; return; }
  log "building etcd $ETCD_VERSION"
  build_main safehold.test/etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" go.etcd.io/etcd/server/v3 "$out" etcd
  log "etcd $ETCD_VERSION built"
}

# etcd's client and offline tool (an etcd dump's mover runs them; its journey restores with etcdutl):
# each module's root is a main package, at etcd's version.
build_etcd_tools() {
  local tool
  for tool in etcdctl etcdutl; do
    local out=$cache/$tool-$ETCD_VERSION
    if [ -x "$out/$tool" ]; then log "$tool $ETCD_VERSION cached"; continue; fi
    log "building $tool $ETCD_VERSION"
    build_main "safehold.test/$tool" "go.etcd.io/etcd/$tool/v3" "$ETCD_VERSION" "go.etcd.io/etcd/$tool/v3" "$out" "$tool"
    log "$tool $ETCD_VERSION built"
  done
}

# A module of our own requiring k8s.io/kubernetes, with its staging modules at the matching v0.
kube_module() { # dir
  local mod=$1
  rm -rf "$mod"; mkdir -p "$mod"
  local gomod staging
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  # Every staging module named in kubernetes' own replace block, at the matching v0 version.
  staging=$(awk '/^replace \(/{r=1;next} r&&/^\)/{r=0} r{print $1}' "$gomod")
  local v0="v0.${KUBE_VERSION#v1.}"
  {
    echo "module safehold.test/kube"
    echo "go 1.24"
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo "replace ("
    for m in $staging; do echo "  $m => $m $v0"; done
    echo ")"
  } >"$mod/go.mod"
  log "replacing $(echo "$staging" | wc -w) staging modules with $v0"
}

build_kube_commands() { # out-dir command...
  local out=$1; shift
  local mod=$cache/build/kube-$KUBE_VERSION
  kube_module "$mod"
  local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  local ldflags="-X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  mkdir -p "$out.tmp"
  for cmd in "$@"; do
    log "go build $cmd"
    with_ticker "$cmd" bash -c 'cd "$1" && go build -trimpath -ldflags "$2" -o "$3" "$4"' _ "$mod" "$ldflags" "$out.tmp/$cmd" "k8s.io/kubernetes/cmd/$cmd"
    log "$cmd built"
  done
  rm -rf "$out"; mv "$out.tmp" "$out"
}

build_kube() {
  local out=$cache/kube-$KUBE_VERSION
  if [ -x "$out/kube-apiserver" ] && [ -x "$out/kube-controller-manager" ] && [ -x "$out/kube-scheduler" ]; then
    log "kubernetes $KUBE_VERSION cached"; return
  fi
  log "building kubernetes $KUBE_VERSION (kube-apiserver, kube-controller-manager, kube-scheduler); a cold build takes 10-20 minutes"
  build_kube_commands "$out" kube-apiserver kube-controller-manager kube-scheduler
}

# The real node's kubelet and kube-proxy, apart so that the control plane's cache stays.
build_kube_node() {
  local out=$cache/kube-node-$KUBE_VERSION
  if [ -x "$out/kubelet" ] && [ -x "$out/kube-proxy" ]; then log "kubelet $KUBE_VERSION cached"; return; fi
  log "building kubelet and kube-proxy $KUBE_VERSION"
  build_kube_commands "$out" kubelet kube-proxy
}

build_restic() {
  local out=$cache/restic-$RESTIC_VERSION
  [ -x "$out/restic" ] && { log "restic $RESTIC_VERSION cached"; return; }
  log "building restic $RESTIC_VERSION"
  # go install pkg@version asks the proxy for the module's version list, which
  # the proxy here refuses; a module of our own that requires it does not.
  build_main safehold.test/restic github.com/restic/restic "$RESTIC_VERSION" github.com/restic/restic/cmd/restic "$out" restic
  log "restic $RESTIC_VERSION built"
}

build_helm() {
  local out=$cache/helm-$HELM_VERSION
  [ -x "$out/helm" ] && { log "helm $HELM_VERSION cached"; return; }
  log "building helm $HELM_VERSION"
  build_main safehold.test/helm helm.sh/helm/v3 "$HELM_VERSION" helm.sh/helm/v3/cmd/helm "$out" helm
  log "helm $HELM_VERSION built"
}

# A peer for side-by-side comparisons (bench/engines.ts); tests never run it.
build_kopia() {
  local out=$cache/kopia-$KOPIA_VERSION
  [ -x "$out/kopia" ] && { log "kopia $KOPIA_VERSION cached"; return; }
  log "building kopia $KOPIA_VERSION; a cold build takes about 5 minutes"
  # Built as a dependency, kopia cannot read its own version: it is linked in.
  build_main safehold.test/kopia github.com/kopia/kopia "$KOPIA_VERSION" github.com/kopia/kopia "$out" kopia \
    "-X github.com/kopia/kopia/repo.BuildVersion=$KOPIA_VERSION -X github.com/kopia/kopia/repo.BuildInfo=$KOPIA_VERSION"
  log "kopia $KOPIA_VERSION built"
}

snapshot_crds() {
  local out=$cache/snapshot-crds-$SNAPSHOTTER_VERSION
  [ -f "$out/groupsnapshot.storage.k8s.io_volumegroupsnapshots.yaml" ] && { log "snapshot CRDs cached"; return; }
  local dir
  dir=$(go mod download -json "github.com/kubernetes-csi/external-snapshotter/client/v8@$SNAPSHOTTER_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  mkdir -p "$out.tmp"
  cp "$dir"/config/crd/snapshot.storage.k8s.io_*.yaml "$dir"/config/crd/groupsnapshot.storage.k8s.io_*.yaml "$out.tmp/"
  rm -rf "$out"; mv "$out.tmp" "$out"
  log "snapshot CRDs $SNAPSHOTTER_VERSION copied"
}

flux_crds() {
  local out=$cache/flux-crds-$FLUX_SOURCE_VERSION
  [ -f "$out/source.toolkit.fluxcd.io_gitrepositories.yaml" ] && { log "Flux CRDs cached"; return; }
  local dir
  dir=$(go mod download -json "github.com/fluxcd/source-controller@$FLUX_SOURCE_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  mkdir -p "$out.tmp"
  cp "$dir"/config/crd/bases/source.toolkit.fluxcd.io_gitrepositories.yaml "$out.tmp/"
  rm -rf "$out"; mv "$out.tmp" "$out"
  log "Flux CRDs $FLUX_SOURCE_VERSION copied"
}

# The CSI specification's and the kubelet plugin registration's .proto files, which the real
# node's CSI plugin (testenv/csi-node) serves, from their modules on the Go module proxy.
csi_protos() {
  local out=$cache/csi-protos-$CSI_SPEC_VERSION-$KUBE_VERSION
  [ -f "$out/csi.proto" ] && [ -f "$out/pluginregistration.proto" ] && { log "CSI protos cached"; return; }
  local spec kubelet
  spec=$(go mod download -json "github.com/container-storage-interface/spec@$CSI_SPEC_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  kubelet=$(go mod download -json "k8s.io/kubelet@v0.${KUBE_VERSION#v1.}" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  mkdir -p "$out.tmp"
  cp "$spec/csi.proto" "$out.tmp/csi.proto"
  cp "$kubelet/pkg/apis/pluginregistration/v1/api.proto" "$out.tmp/pluginregistration.proto"
  rm -rf "$out"; mv "$out.tmp" "$out"
  log "CSI protos $CSI_SPEC_VERSION copied"
}

mkdir -p "$cache"
# One build at a time per machine: two setups started together wait for each other.
exec 9>"$cache/.build.lock"
flock 9
if [ "${1:-}" = kopia ]; then build_kopia; exit; fi
snapshot_crds
flux_crds
build_restic
build_helm
build_etcd
build_etcd_tools
build_kube
build_kube_node
csi_protos
log "done"
